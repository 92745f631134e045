"""LeanAdam does torch.optim.Adam's arithmetic, saves and restores its state, and never loads torch._dynamo."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from polebench.optim import LeanAdam
from tests.conftest import ROOT


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))


def _train(net: torch.nn.Module, opt: object, steps: int, seed: int = 1) -> None:
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        opt.zero_grad()  # type: ignore[attr-defined]
        net(torch.randn(32, 4, generator=gen)).pow(2).mean().backward()
        opt.step()  # type: ignore[attr-defined]


@pytest.mark.parametrize("kwargs", [{}, {"eps": 1e-5, "betas": (0.8, 0.95)}, {"weight_decay": 0.01, "lr": 3e-3}])
def test_same_updates_as_torch_adam(kwargs: dict) -> None:
    ours, theirs = _net(0), _net(0)
    _train(ours, LeanAdam(ours.parameters(), **kwargs), 50)
    _train(theirs, torch.optim.Adam(theirs.parameters(), foreach=True, **kwargs), 50)
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_learning_rate_lives_in_param_groups_as_sb3_expects() -> None:
    net = _net(0)
    opt = LeanAdam(net.parameters(), lr=0.5)
    for group in opt.param_groups:
        group["lr"] = 0.0
    before = [p.clone() for p in net.parameters()]
    _train(net, opt, 3)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_state_dict_round_trip_continues_identically() -> None:
    first, second = _net(0), _net(0)
    opt1 = LeanAdam(first.parameters())
    _train(first, opt1, 10)
    second.load_state_dict(first.state_dict())
    opt2 = LeanAdam(second.parameters())
    opt2.load_state_dict(opt1.state_dict(), strict=True)
    _train(first, opt1, 5, seed=2)
    _train(second, opt2, 5, seed=2)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="betas"):
        LeanAdam(_net(0).parameters(), betas=(0.9, 1.5))


def test_training_never_imports_the_compiler() -> None:
    code = (
        "import sys; import torch; from polebench.optim import LeanAdam\n"
        "net = torch.nn.Linear(4, 2); opt = LeanAdam(net.parameters())\n"
        "net(torch.ones(1, 4)).sum().backward(); opt.step(); opt.zero_grad(); opt.state_dict()\n"
        "print('torch._dynamo' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
