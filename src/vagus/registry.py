"""The provider registry: for each kind (stt, llm, tts), a provider name → its typed config section and
the factory that builds it.

The config's `stt`, `llm` and `tts` sections are validated against the section class registered for
their `provider` name, and the session's services are built by that provider's factory. Adding a
provider is one file (its class, its config section, its factory) plus one `register_provider` call;
nothing else in Vagus changes. A factory may be given as a callable or, for providers whose imports
are heavy, as an "module:attribute" string imported when the provider is first built.

This module sits at the bottom of the package (it imports only pydantic), so the config can read it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["stt", "llm", "tts"]
KINDS: tuple[Kind, ...] = ("stt", "llm", "tts")


class ProviderConfig(BaseModel):
    """Base of every provider's config section: `provider` names the registered provider."""

    model_config = ConfigDict(extra="forbid")
    provider: str


Factory = Callable[[Any, Any], Any]
"""factory(section, agent_config) → the provider instance."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    kind: Kind
    name: str
    config: type[ProviderConfig]
    factory: Factory | str
    description: str = ""

    def build(self, section: ProviderConfig, agent_config: Any) -> Any:
        factory = self.factory
        if isinstance(factory, str):
            module, _, attribute = factory.partition(":")
            target: Any = importlib.import_module(module)
            for part in attribute.split("."):
                target = getattr(target, part)
            factory = target
        return factory(section, agent_config)  # type: ignore[operator]


_PROVIDERS: dict[str, dict[str, ProviderSpec]] = {kind: {} for kind in KINDS}


class UnknownProvider(ValueError):
    pass


def register_provider(
    kind: Kind, name: str, config: type[ProviderConfig], factory: Factory | str, description: str = ""
) -> ProviderSpec:
    """Make `name` usable as `<kind>.provider` in a config. Registering a name again replaces it."""
    if kind not in _PROVIDERS:
        raise ValueError(f"provider kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not issubclass(config, ProviderConfig):
        raise TypeError(f"the config section of provider {name!r} must subclass vagus.registry.ProviderConfig")
    spec = ProviderSpec(kind, name, config, factory, description)
    _PROVIDERS[kind][name] = spec
    return spec


def provider_spec(kind: Kind, name: str) -> ProviderSpec:
    try:
        return _PROVIDERS[kind][name]
    except KeyError:
        known = ", ".join(sorted(_PROVIDERS.get(kind, {}))) or "none"
        raise UnknownProvider(f"{kind}.provider {name!r} is not registered (known: {known})") from None


def provider_names(kind: Kind) -> list[str]:
    return sorted(_PROVIDERS[kind])


def validate_section(kind: Kind, data: Any, default: str) -> ProviderConfig:
    """A config section (dict or model) as the typed section of the provider it names."""
    if isinstance(data, ProviderConfig):
        spec = provider_spec(kind, data.provider)
        return data if isinstance(data, spec.config) else spec.config.model_validate(data.model_dump())
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"{kind} must be a mapping with a 'provider' key")
    name = data.get("provider", default)
    if not isinstance(name, str):
        raise ValueError(f"{kind}.provider must be a string")
    spec = provider_spec(kind, name)
    return spec.config.model_validate({**data, "provider": name})


def build_provider(kind: Kind, section: ProviderConfig, agent_config: Any) -> Any:
    return provider_spec(kind, section.provider).build(section, agent_config)
