"""Who may act where: actors, role grants, and one scope predicate per scope.

Deny by default: a grant covers a subject only when its role's scope and unit match the subject's place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Grant:
    """A role held over an administrative unit (a commune, district or province code).

    ``unit`` is ``None`` for roles of scope ``own``, which cover what the actor owns.
    """

    role: str
    unit: str | None = None


@dataclass(frozen=True)
class Actor:
    """A user id, the roles they hold with their units, and the owner keys they act for (scope ``own``)."""

    user_id: str
    grants: tuple[Grant, ...] = ()
    owner_keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, user_id: object, grants: Iterable[tuple[str, str | None] | Grant] = (),
           owner_keys: Iterable[object] = ()) -> Actor:
        gs = tuple(g if isinstance(g, Grant) else Grant(*g) for g in grants)
        return cls(str(user_id), gs, frozenset(str(k) for k in owner_keys))

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)


@dataclass(frozen=True)
class Place:
    """Where a subject stands: who owns it and which commune, district and province it is in."""

    owner: str | None = None
    commune: str | None = None
    district: str | None = None
    province: str | None = None


def _covers_own(actor: Actor, grant: Grant, place: Place) -> bool:
    return place.owner is not None and place.owner in actor.owner_keys


def _covers_commune(actor: Actor, grant: Grant, place: Place) -> bool:
    return grant.unit is not None and grant.unit == place.commune


def _covers_district(actor: Actor, grant: Grant, place: Place) -> bool:
    return grant.unit is not None and grant.unit == place.district


def _covers_province(actor: Actor, grant: Grant, place: Place) -> bool:
    return grant.unit is not None and grant.unit == place.province


SCOPE_PREDICATES: Mapping[str, Callable[[Actor, Grant, Place], bool]] = {
    "own": _covers_own,
    "commune": _covers_commune,
    "district": _covers_district,
    "province": _covers_province,
}


def grant_covers(actor: Actor, grant: Grant, scope: str, place: Place) -> bool:
    predicate = SCOPE_PREDICATES.get(scope)
    return predicate is not None and predicate(actor, grant, place)


def acts_on_own(actor: Actor, scope: str, place: Place) -> bool:
    """Separation of duties: an officer's grant (any scope but ``own``) never covers the actor's own
    organisation's subject; only the applicant side may act on it."""
    return scope != "own" and place.owner is not None and place.owner in actor.owner_keys


def covering_grants(actor: Actor, roles: Mapping[str, str], place: Place) -> list[Grant]:
    """The actor's grants, among ``roles`` (role name -> scope), that cover ``place`` (never an officer's
    grant over the actor's own organisation: :func:`acts_on_own`)."""
    return [g for g in actor.grants if g.role in roles and grant_covers(actor, g, roles[g.role], place)
            and not acts_on_own(actor, roles[g.role], place)]
