"""advdl: an interactive lab for GANs, autoencoders and capsule networks on MNIST.

The package is plain PyTorch + NumPy. Only :mod:`advdl.ui` imports Streamlit.
"""

__version__ = "0.1.0"
