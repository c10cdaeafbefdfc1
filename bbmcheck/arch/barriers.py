"""What each DSB option orders for other observers (spec §5.2, RDDMVT)."""

from __future__ import annotations

FULL_DSB = ("sy", "ish", "osh")  # complete TLBIs (RDDMVT step 4) and make stores visible
STORE_DSB = FULL_DSB + ("st", "ishst", "oshst")  # make stores visible to walkers (RDDMVT steps 2, 6)
