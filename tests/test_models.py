"""The models: output shapes, squash, routing, masking, and the autoencoders' codes."""

from __future__ import annotations

import pytest
import torch

from advdl.models import CapsNet, build, dynamic_routing, dynamic_routing_loop, squash
from advdl.models.gan import DCGAN


@pytest.fixture(scope="module")
def x():
    return torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def test_cnn_shapes(x):
    m = build("cnn").eval()
    assert m(x).shape == (3, 10)
    assert m.embed(x).shape == (3, m.config.hidden)


@pytest.mark.parametrize("name,code", [("ae_plain", (3, 32)), ("ae_deep", (3, 32)), ("ae_conv", (3, 32, 7, 7)), ("ae_denoise", (3, 32, 7, 7))])
def test_autoencoder_codes_and_reconstructions(x, name, code):
    m = build(name).eval().requires_grad_(False)
    z = m.encode(x)
    assert z.shape == code
    r = m.decode(z)
    assert r.shape == x.shape and float(r.min()) >= 0 and float(r.max()) <= 1
    assert torch.equal(m(x), r)


def test_conv_autoencoder_has_the_course_layers():
    m = build("ae_conv")
    convs = [l for l in m.modules() if isinstance(l, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 32, (3, 3)), (32, 32, (3, 3)), (32, 32, (3, 3)), (32, 32, (3, 3)), (32, 1, (3, 3))
    ]
    assert sum(isinstance(l, torch.nn.MaxPool2d) for l in m.modules()) == 2
    assert sum(isinstance(l, torch.nn.Upsample) for l in m.modules()) == 2


def test_dcgan_shapes_and_ranges():
    m = DCGAN().eval().requires_grad_(False)
    z = m.sample_z(5, seed=0)
    assert z.shape == (5, 100) and torch.equal(z, m.sample_z(5, seed=0))
    img = m.generate(z)
    assert img.shape == (5, 1, 28, 28) and float(img.min()) >= 0 and float(img.max()) <= 1
    logit = m.discriminator(img * 2 - 1)
    assert logit.shape == (5,)
    p = m.realness(img)
    assert ((p > 0) & (p < 1)).all()
    # DCGAN guidelines: no pooling, and no hidden fully connected layer in D
    assert not any(isinstance(l, (torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.Linear)) for l in m.discriminator.modules())


def test_dcgan_deeper_discriminator_keeps_the_guidelines_and_old_checkpoints_load():
    from advdl.models.gan import DCGANConfig

    m = DCGAN(DCGANConfig(d_refine=2, ngf=16, ndf=8)).eval()
    x = m.generate(m.sample_z(3, seed=1))
    assert m.discriminator(x * 2 - 1).shape == (3,)
    convs = [l for l in m.discriminator.modules() if isinstance(l, torch.nn.Conv2d)]
    assert len(convs) == 5 and [c.stride for c in convs[2:4]] == [(1, 1), (1, 1)]
    assert not any(isinstance(l, (torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.Linear)) for l in m.discriminator.modules())
    # without the option the layers keep their names: checkpoints saved before it still load
    assert DCGAN().state_dict()["discriminator.net.5.weight"].shape == (1, 128, 7, 7)  # the logit, as before



@pytest.mark.parametrize("train", [False, True])
def test_generator_last_layer_as_matmul_and_fold_equals_the_transposed_convolution(train):
    """The generator's last layer runs as a matrix product and a col2im: the same image and the
    same gradients as ``nn.ConvTranspose2d`` itself, in training and in evaluation."""
    from advdl.models.gan import DCGANConfig

    torch.manual_seed(0)
    gan = DCGAN(DCGANConfig(ngf=16, g_refine=1))
    for p in gan.generator.parameters():  # away from the initial zero bias and small weights
        p.data.add_(0.1 * torch.randn_like(p))
    gan.train(train)
    G = gan.generator
    z = torch.randn(6, gan.config.z_dim, requires_grad=True)

    def reference(z):
        h = G.project(z).view(-1, 2 * G.ngf, 7, 7)
        return G.net(h)  # the layers as declared: ConvTranspose2d then Tanh

    torch.manual_seed(1)
    ours = G(z)
    (g_ours,) = torch.autograd.grad(ours.square().sum(), z)
    w_ours = torch.autograd.grad(G(z).sum(), G.net[-2].weight)[0]
    ref = reference(z)
    (g_ref,) = torch.autograd.grad(ref.square().sum(), z)
    w_ref = torch.autograd.grad(reference(z).sum(), G.net[-2].weight)[0]
    assert ours.shape == (6, 1, 28, 28)
    assert torch.allclose(ours, ref, atol=1e-5) and ours.abs().max() > 0.1
    assert torch.allclose(g_ours, g_ref, atol=1e-4) and torch.allclose(w_ours, w_ref, atol=1e-4)

def test_squash_keeps_norms_below_one_and_monotone():
    # lengths from 1e-3 to ~100: beyond that float32 rounds |s|^2 / (1 + |s|^2) to 1
    s = torch.randn(1000, 16) * torch.logspace(-3, 1.5, 1000)[:, None]
    v = squash(s)
    ns, nv = s.norm(dim=-1), v.norm(dim=-1)
    assert (nv < 1).all()
    order = ns.argsort()
    assert (nv[order].diff() >= -1e-6).all()
    cos = torch.nn.functional.cosine_similarity(s, v, dim=-1)
    assert torch.allclose(cos[ns > 1e-2], torch.ones(()), atol=1e-5)


def test_vectorized_routing_equals_loop():
    u_hat = torch.randn(4, 1152, 10, 16, generator=torch.Generator().manual_seed(0)) * 0.05
    v1, c1 = dynamic_routing(u_hat, 3)
    v2, c2 = dynamic_routing_loop(u_hat, 3)
    assert v1.shape == (4, 10, 16)
    torch.testing.assert_close(v1, v2, atol=1e-5, rtol=0)
    for a, b in zip(c1, c2):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("iters", [1, 2, 3])
def test_routing_gradient_equals_autograd_through_the_loop(iters):
    # the vectorized routing has its own backward pass: it must be autograd's gradient exactly
    g = torch.Generator().manual_seed(iters)
    u_hat = (torch.randn(3, 40, 5, 6, generator=g, dtype=torch.float64) * 0.5).requires_grad_()
    weights = torch.randn(3, 5, 6, generator=g, dtype=torch.float64)
    (dynamic_routing(u_hat, iters)[0] * weights).sum().backward()
    fast, u_hat.grad = u_hat.grad.clone(), None
    (dynamic_routing_loop(u_hat, iters)[0] * weights).sum().backward()
    torch.testing.assert_close(fast, u_hat.grad, atol=1e-12, rtol=0)
    assert fast.abs().max() > 1e-3  # a gradient that is there
    assert torch.autograd.gradcheck(lambda t: dynamic_routing(t, iters)[0], (u_hat.detach()[:1, :8].clone().requires_grad_(),))


def test_couplings_sum_to_one_and_start_uniform(x):
    m = CapsNet().eval()
    with torch.no_grad():
        out = m(x, return_couplings=True)
    assert out.capsules.shape == (3, 10, 16) and out.lengths.shape == (3, 10)
    assert out.reconstruction.shape == (3, 1, 28, 28)
    assert len(out.couplings) == 3
    for c in out.couplings:
        assert c.shape == (3, 1152, 10)
        torch.testing.assert_close(c.sum(-1), torch.ones(3, 1152))
    torch.testing.assert_close(out.couplings[0], torch.full((3, 1152, 10), 0.1))


def test_masking_picks_the_right_capsule(x):
    torch.manual_seed(0)
    m = CapsNet().eval()
    with torch.no_grad():
        out = m(x)
        pred = out.lengths.argmax(1)
        chosen = out.capsules[torch.arange(3), pred]
        torch.testing.assert_close(out.reconstruction, m.decode(chosen, pred))
        y = (pred + 1) % 10  # training masks by the label instead
        out_y = m(x, y)
        torch.testing.assert_close(out_y.reconstruction, m.decode(out.capsules[torch.arange(3), y], y))
        assert not torch.allclose(out_y.reconstruction, out.reconstruction)
        # the decoder takes any 16-D vector for any class
        assert m.decode(torch.zeros(16), 3).shape == (1, 1, 28, 28)


def test_capsnet_loss_parts(x):
    m = CapsNet()
    y = torch.tensor([0, 1, 2])
    out = m(x, y)
    total, margin, recon = m.loss(out, x, y)
    assert total.item() == pytest.approx(margin.item() + 0.0005 * recon.item(), rel=1e-5)
    total.backward()
    assert m.W.grad is not None and m.conv1.weight.grad is not None


def test_capsnet_has_1152_primary_capsules(x):
    m = CapsNet()
    assert m.primary_capsules(x).shape == (3, 1152, 8)
