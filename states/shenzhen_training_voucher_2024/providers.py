"""The provider catalogue, shared with the Longgang program: see :mod:`states.provider_catalogue`."""

from states.provider_catalogue import CATALOGUE, CataloguedProvider, catalogued

__all__ = ["CATALOGUE", "CataloguedProvider", "catalogued"]
