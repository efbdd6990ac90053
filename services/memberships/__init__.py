"""Memberships: an entity's dated place in a network, in the core or the extended tier."""
