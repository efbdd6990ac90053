"""Working groups: drawn from both tiers, chaired by members, shaped on the Compact's objectives."""
