from __future__ import annotations

import pytest

from polebench.agents.registry import ALGOS, get_algo
from polebench.errors import ConfigError


def test_unknown_name_lists_every_valid_one() -> None:
    with pytest.raises(ConfigError) as err:
        get_algo("nope")
    for name in ALGOS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", sorted(ALGOS))
def test_every_entry_loads_a_class_with_the_sb3_interface(name: str) -> None:
    cls = get_algo(name).load_class()
    for method in ("learn", "predict", "save", "load"):
        assert callable(getattr(cls, method)), f"{name} lacks {method}"
    assert get_algo(name).policy in cls.policy_aliases
