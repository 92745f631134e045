"""Agents and the registry that names them. See :mod:`agents.registry`."""
