"""The course map (from the outline's summary, 课程内容总结) and the glossary, in both languages."""

from __future__ import annotations

# (Chinese, English, children); the advanced chapter's topics name the lab page that shows them.
COURSE_MAP = [
    ("深度学习与神经网络", "Deep learning and neural networks", [
        ("神经网络基础：逻辑回归、导数、向量化、前向与反向传播", "Basics: logistic regression, derivatives, vectorization, forward and backward propagation"),
        ("浅层神经网络：激活函数、BP", "Shallow networks: activation functions, backpropagation"),
        ("深层网络：完整的 BP 过程", "Deep networks: the whole backpropagation"),
    ]),
    ("深度学习进阶", "Improving deep networks", [
        ("多分类：softmax", "Multi-class classification: softmax"),
        ("梯度下降优化：梯度爆炸与消失、移动平均、学习率衰减、标准化输入", "Optimization: exploding and vanishing gradients, moving averages, learning-rate decay, normalized inputs"),
        ("正则化：L1、L2、Dropout", "Regularization: L1, L2, dropout"),
        ("参数调优：BN", "Tuning: batch normalization"),
    ]),
    ("卷积网络", "Convolutional networks", [
        ("卷积、池化、计算公式", "Convolution, pooling, output-size formulas"),
        ("经典结构：NIN、VGG、GoogLeNet、Inception", "Classic architectures: NIN, VGG, GoogLeNet, Inception"),
        ("案例：手势识别", "Case study: hand-sign classification"),
    ]),
    ("循环神经网络", "Recurrent networks", [
        ("随时间反向传播、GRU、LSTM", "Backpropagation through time, GRU, LSTM"),
        ("词嵌入：one-hot、word2vec", "Word embeddings: one-hot, word2vec"),
        ("序列模型与注意力机制：seq2seq、BLEU", "Sequence models and attention: seq2seq, BLEU"),
    ]),
]
ADVANCED = [  # (topic zh, topic en, what the lab shows zh, en, page)
    ("生成对抗网络", "Generative adversarial networks", "生成器 G、判别器 D、DCGAN", "generator G, discriminator D, DCGAN", "pages/gan.py"),
    ("GAN 的训练过程", "How a GAN trains", "先训练 D（G 冻结），再训练 G（D 冻结）", "train D with G frozen, then G with D frozen", "pages/gan_training.py"),
    ("自动编码器", "Autoencoders", "全连接、深度、卷积、降噪", "fully connected, deep, convolutional, denoising", "pages/autoencoders.py"),
    ("胶囊网络", "Capsule networks", "胶囊向量、动态路由", "capsule vectors, dynamic routing", "pages/capsules.py"),
]

GLOSSARY = [
    ("生成对抗网络", "generative adversarial network (GAN)"),
    ("生成器", "generator"),
    ("判别器", "discriminator"),
    ("潜变量 / 潜空间", "latent variable / latent space"),
    ("插值", "interpolation"),
    ("自动编码器", "autoencoder"),
    ("编码器 / 解码器", "encoder / decoder"),
    ("降噪自编码器", "denoising autoencoder"),
    ("重建", "reconstruction"),
    ("胶囊", "capsule"),
    ("动态路由", "dynamic routing"),
    ("耦合系数", "coupling coefficient"),
    ("挤压函数", "squash"),
    ("间隔损失", "margin loss"),
]
