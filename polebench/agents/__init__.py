"""Agents and the registry that names them. See :mod:`polebench.agents.registry`."""
