"""Paged lists: continue tokens round-trip in each store's kind of resourceVersion."""

from __future__ import annotations

import pytest

from api.meta import v1 as metav1
from pkg.apimachinery import errors
from pkg.registry.rest import paging

OBJECTS = [(("a", n), metav1.ObjectMeta(namespace="a", name=n)) for n in ("p", "q", "r", "s", "t")]


def _first_page(resource_version: paging.RV) -> paging.Continue[paging.RV]:
    first = paging.page(OBJECTS, 2, resource_version)
    assert [o.name for o in first.items] == ["p", "q"]  # type: ignore[attr-defined]
    assert (first.resource_version, first.remaining_item_count) == (str(resource_version), 3)
    assert first.continue_token is not None
    return paging.decode_continue(first.continue_token, type(resource_version))


def test_a_token_names_the_last_item_and_pins_the_list_version() -> None:
    generic = _first_page(7)
    assert (generic.resource_version, generic.after) == (7, ("a", "q"))
    porch = _first_page("7.2")
    assert (porch.resource_version, porch.after) == ("7.2", ("a", "q"))


def test_the_last_page_has_no_token_and_no_limit_is_everything() -> None:
    last = paging.page(OBJECTS[3:], 2, 1)
    assert (last.continue_token, last.remaining_item_count) == (None, None)
    assert len(paging.page(OBJECTS, 0, 1).items) == 5


def test_an_integer_store_refuses_a_token_with_another_version() -> None:
    foreign = paging.Continue("7.2", "a", "q").encode()
    with pytest.raises(errors.StatusError) as info:
        paging.decode_continue(foreign, int)
    assert info.value.code == 400
    assert info.value.message.startswith("continue key is not valid: invalid literal for int()")
