import torch

from nanomlip.nn.scatter import scatter_sum


def _saved_tensor_shapes(function):
    shapes = []

    def pack(tensor):
        shapes.append(tuple(tensor.shape))
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        result = function()
    return result, shapes


def test_matches_index_add_with_first_and_second_derivatives():
    torch.manual_seed(0)
    index = torch.tensor([0, 2, 2, 1, 0, 2])
    source = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    probe = torch.randn(3, 4, dtype=torch.float64)

    def gradient(scatter):
        (grad,) = torch.autograd.grad(
            (scatter(source) ** 2 * probe).sum(), source, create_graph=True
        )
        (second,) = torch.autograd.grad(grad.pow(3).sum(), source)
        return scatter(source), grad, second

    ours = gradient(lambda s: scatter_sum(s, index, 3))
    reference = gradient(lambda s: torch.zeros(3, 4, dtype=s.dtype).index_add(0, index, s))
    for a, b in zip(ours, reference):
        assert torch.allclose(a, b, atol=1e-12)


def test_backward_keeps_the_index_not_the_messages():
    source = torch.randn(50, 16, requires_grad=True)
    index = torch.randint(0, 7, (50,))
    _, ours = _saved_tensor_shapes(lambda: scatter_sum(source, index, 7))
    _, plain = _saved_tensor_shapes(lambda: torch.zeros(7, 16).index_add(0, index, source))
    assert (50, 16) in plain  # what the plain scatter keeps alive for the force pass
    assert ours == [(50,)]


def test_scripted_function_matches():
    scripted = torch.jit.script(scatter_sum)
    source, index = torch.randn(9, 3), torch.tensor([1, 1, 0, 3, 3, 3, 0, 2, 1])
    assert torch.allclose(scripted(source, index, 4), scatter_sum(source, index, 4))
