"""``LeanAdam``: PyTorch's Adam update, in an optimizer that does not load PyTorch's compiler.

Why not ``torch.optim.Adam``: every ``torch.optim.Optimizer`` imports ``torch._dynamo`` the first time
one is built (its methods are wrapped to opt out of ``torch.compile``). For a CartPole run that import
is about 2 s and 80 MB, a fifth of the whole process, spent on a compiler nobody calls. This class
does the same arithmetic as ``torch.optim.Adam(foreach=True)`` (checked in ``tests/test_optim.py``)
and speaks the part of the optimizer interface Stable-Baselines3 uses: ``param_groups`` (for learning
rate schedules), ``zero_grad``, ``step``, ``state_dict`` and ``load_state_dict`` (for saving).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch


class LeanAdam:
    """Adam (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980) with ``torch.optim.Adam``'s defaults.

    Example:
        >>> net = torch.nn.Linear(3, 1)
        >>> opt = LeanAdam(net.parameters(), lr=0.1)
        >>> net(torch.ones(1, 3)).sum().backward()
        >>> before = net.bias.item()
        >>> opt.step()
        >>> round(before - net.bias.item(), 6)  # the first step moves each weight by lr along -sign(grad)
        0.1

    :param params: parameters, or parameter groups as ``torch.optim`` takes them
    :param lr: learning rate
    :param betas: decay rates of the gradient's first and second moment estimates
    :param eps: added to the denominator for numerical stability
    :param weight_decay: L2 penalty added to the gradient
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"invalid Adam settings: lr={lr}, betas={betas}, eps={eps}, weight_decay={weight_decay}")
        self.defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        items = list(params)
        groups = items if items and isinstance(items[0], dict) else [{"params": items}]
        self.param_groups = [{**self.defaults, **group, "params": list(group["params"])} for group in groups]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (``None`` by default, as in ``torch.optim``)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_().zero_()

    def _moments(self, p: torch.Tensor) -> dict[str, Any]:
        if p not in self.state:
            zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
            self.state[p] = {"step": 0, "exp_avg": zeros, "exp_avg_sq": zeros.clone()}
        return self.state[p]

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One Adam update of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update(group, params)
        return loss

    def _update(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        beta1, beta2 = group["betas"]
        grads: list[torch.Tensor] = [p.grad for p in params if p.grad is not None]
        if group["weight_decay"]:
            grads = list(torch._foreach_add(grads, params, alpha=group["weight_decay"]))
        states = [self._moments(p) for p in params]
        for s in states:
            s["step"] += 1
        exp_avgs = [s["exp_avg"] for s in states]
        exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        step_sizes = [-group["lr"] / (1 - beta1 ** s["step"]) for s in states]
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denominators, [math.sqrt(1 - beta2 ** s["step"]) for s in states])
        torch._foreach_add_(denominators, group["eps"])
        torch._foreach_addcdiv_(params, exp_avgs, denominators, step_sizes)

    def state_dict(self) -> dict[str, Any]:
        """The moments and settings, with parameters numbered in order, as ``torch.optim`` saves them."""
        index = {p: i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        groups = [{**g, "params": [index[p] for p in g["params"]]} for g in self.param_groups]
        state = {index[p]: {k: _copy(v) for k, v in s.items()} for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any], **_: Any) -> None:
        """Restore what :meth:`state_dict` returned (extra keywords, such as SB3's ``strict``, are ignored)."""
        params = [p for g in self.param_groups for p in g["params"]]
        groups = state_dict["param_groups"]
        if [len(g["params"]) for g in groups] != [len(g["params"]) for g in self.param_groups]:
            raise ValueError("the saved optimizer state has other parameter groups than this model")
        for group, saved in zip(self.param_groups, groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {
            params[int(i)]: {k: v.to(params[int(i)].device) if torch.is_tensor(v) else v for k, v in s.items()}
            for i, s in state_dict["state"].items()
        }


def _copy(value: Any) -> Any:
    return value.clone() if torch.is_tensor(value) else value
