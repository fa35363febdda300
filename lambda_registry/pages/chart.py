"""The landing page's chart of active instances per day, drawn on the
server (SPEC.md "People's page"): bars in an SVG, with the figures in a
table beside it, readable without JavaScript. The page's script refreshes
it by fetching the same fragment again (one way to draw it, not two)."""

import dataclasses

# The drawing's own units (it scales to the page's width).
WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
GAP = 0.2  # of a day's width, between bars


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: str
    active: int


@dataclasses.dataclass(frozen=True)
class Chart:
    bars: tuple
    top_value: int  # the value of the top grid line
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    top: int = TOP
    baseline: int = HEIGHT - BOTTOM

    @property
    def first_day(self):
        return self.bars[0].day

    @property
    def last_day(self):
        return self.bars[-1].day

    @property
    def summary(self):
        """One sentence of the figures, for those who cannot see the bars."""
        values = [bar.active for bar in self.bars]
        return (f"Active Lambda instances at the end of each day from {self.first_day} to {self.last_day} (UTC): "
                f"from {min(values):,} to {max(values):,}; {values[-1]:,} now.")


def nice_top(value):
    """The smallest of 1, 2, 5 × 10^n at or above ``value`` (at least 1)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def active_chart(series):
    """The chart of ``[(day, active)]``, oldest first."""
    top_value = nice_top(max((active for _, active in series), default=0))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_width / len(series)
    bars = []
    for n, (day, active) in enumerate(series):
        height = plot_height * active / top_value
        bars.append(Bar(x=round(LEFT + n * slot + slot * GAP / 2, 2), y=round(TOP + plot_height - height, 2),
                        width=round(slot * (1 - GAP), 2), height=round(height, 2), day=day.isoformat(),
                        active=active))
    return Chart(tuple(bars), top_value)
