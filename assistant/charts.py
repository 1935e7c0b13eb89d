"""The daily digest's chart: A/R aging amounts and new denials by reason, two bar panels in one PNG.

Pillow draws it (a bar chart needs no plotting library; pillow is small and starts fast). Bars are
scaled to the panel's largest value, so the picture is read by comparing bars; the numbers are in the
digest's text. Labels are payer-free reason codes and bucket names: no PHI can reach the picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1000, 420
PANEL_TOP, PANEL_BOTTOM = 70, 350
AGING_COLOUR = (46, 104, 178)
DENIAL_COLOUR = (196, 72, 58)
BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def _panel(
    draw: ImageDraw.ImageDraw,
    left: int,
    right: int,
    title: str,
    bars: Sequence[tuple[str, float, str]],
    colour: tuple[int, int, int],
) -> None:
    """Bars of (label, value, value text) between x=left and x=right, scaled to the largest value."""
    draw.text((left, 20), title, fill=INK, font=_font(20))
    draw.line((left, PANEL_BOTTOM, right, PANEL_BOTTOM), fill=INK, width=1)
    if not bars:
        draw.text((left, (PANEL_TOP + PANEL_BOTTOM) // 2), "none", fill=INK, font=_font(16))
        return
    largest = max(value for _, value, _ in bars) or 1.0
    slot = (right - left) / len(bars)
    width = max(4, int(slot * 0.6))
    for index, (label, value, shown) in enumerate(bars):
        x = int(left + index * slot + (slot - width) / 2)
        height = int((PANEL_BOTTOM - PANEL_TOP) * value / largest)
        if height:
            draw.rectangle((x, PANEL_BOTTOM - height, x + width, PANEL_BOTTOM - 1), fill=colour)
        draw.text((x, PANEL_BOTTOM - height - 18), shown, fill=INK, font=_font(12))
        draw.text((x, PANEL_BOTTOM + 8), label, fill=INK, font=_font(12))


def bar_positions(count: int, left: int, right: int) -> list[int]:
    """The x of each bar's centre in a panel (tests read the picture there)."""
    slot = (right - left) / count
    width = max(4, int(slot * 0.6))
    return [int(left + i * slot + (slot - width) / 2) + width // 2 for i in range(count)]


AGING_PANEL = (40, 480)
DENIAL_PANEL = (540, 980)


def digest_chart(aging: Sequence[tuple[str, Decimal]], denials: Sequence[tuple[str, int]]) -> bytes:
    """PNG bytes: left, A/R amount per aging bucket; right, new denials per reason (at most 8 reasons)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _panel(
        draw,
        *AGING_PANEL,
        "A/R aging (open amount, days)",
        [(label, float(amount), f"${amount:,.0f}") for label, amount in aging],
        AGING_COLOUR,
    )
    _panel(
        draw,
        *DENIAL_PANEL,
        "New denials by reason",
        [(reason, float(count), str(count)) for reason, count in denials[:8]],
        DENIAL_COLOUR,
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
