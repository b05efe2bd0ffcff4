"""One self-contained HTML dashboard: Plotly figures with plotly.js inlined, plain HTML tables, no network needed.

`render(data)` is pure (data in, HTML text out); `collect(...)` reads a warehouse and the local buckets. The
panels match the pages of the Looker Studio report (docs/looker.md).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from wattline.alerts.ledger import NOTIFIED
from wattline.models import DailyEnergy, DailyManifest, HourlyEnergy, Reading
from wattline.report.panel_data import FORECAST_DAYS, ForecastPanel, TariffCost, forecast_panel, tariff_costs

if TYPE_CHECKING:
    from wattline.solar import ChannelRoles, SolarDay
    from wattline.tariffs import Tariff

MAX_POINTS = 4000  # per power series, after downsampling
FORECAST_TITLE = f"Forecast: daily energy of the next {FORECAST_DAYS} days with its 80 % interval"
TARIFF_TITLE = "Tariff comparison: cost of the period under each tariff"
SOLAR_TITLE = "Solar: generation self-consumed and exported, grid import, self-sufficiency (all solar sites)"
SHADED_KINDS = {"gap": "rgba(255,165,0,0.18)", "outage": "rgba(220,20,60,0.22)", "offline": "rgba(128,128,128,0.2)"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class PowerSeries:
    device_id: str
    channel: int
    ts: list[datetime]
    power_w: list[float]


@dataclass
class AlertRow:
    kind: str
    severity: str
    device_id: str
    channel: int | None
    start: datetime
    end: datetime | None
    message: str
    notified: bool = True  # False: recorded, never sent (it had ended long before it was first seen: history)


@dataclass
class ReportData:
    title: str
    timezone: str
    currency: str
    generated_at: datetime
    daily: list[DailyEnergy] = field(default_factory=list)
    hourly: list[HourlyEnergy] = field(default_factory=list)
    power: list[PowerSeries] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    manifests: list[DailyManifest] = field(default_factory=list)
    current_tariff: str = ""
    tariffs: list[TariffCost] = field(default_factory=list)
    forecast: ForecastPanel = field(default_factory=ForecastPanel)
    solar: list[SolarDay] = field(default_factory=list)  # sites with a solar channel role (`solar_daily`)


def downsample(
    ts: Sequence[datetime], values: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[datetime], list[float]]:
    """Keep the extremes: per bucket the min and max sample, so spikes survive."""
    if len(ts) <= limit:
        return list(ts), list(values)
    size = max(1, (2 * len(ts)) // limit + 1)
    out_ts: list[datetime] = []
    out_values: list[float] = []
    for first in range(0, len(ts), size):
        chunk = range(first, min(first + size, len(ts)))
        low = min(chunk, key=lambda index: values[index])
        high = max(chunk, key=lambda index: values[index])
        for index in sorted({low, high}):
            out_ts.append(ts[index])
            out_values.append(values[index])
    return out_ts, out_values


def _figure_html(figure: Any, *, first: bool, div_id: str) -> str:
    return str(
        figure.to_html(
            full_html=False,
            include_plotlyjs=bool(first),
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )


def _layout(figure: Any, title: str, height: int = 380) -> None:
    figure.update_layout(
        title=title, height=height, margin={"l": 60, "r": 20, "t": 50, "b": 40}, template="plotly_white"
    )


def daily_zone_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    zones: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in data.daily:
        for zone, kwh in row.zones.items():
            zones[zone][row.date] += kwh
    dates = sorted({row.date for row in data.daily})
    figure = go.Figure()
    for zone, by_date in zones.items():
        figure.add_bar(name=zone, x=dates, y=[round(by_date.get(day, 0.0), 3) for day in dates])
    figure.update_layout(barmode="stack", yaxis_title="kWh", xaxis={"type": "category"})
    _layout(figure, "Daily energy by tariff zone (all meters)")
    return figure


def cost_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    per_day: dict[str, float] = defaultdict(float)
    per_month: dict[str, float] = defaultdict(float)
    for row in data.daily:
        per_day[row.date] += row.cost
        per_month[row.date[:7]] += row.cost
    figure = make_subplots(rows=1, cols=2, column_widths=[0.7, 0.3], subplot_titles=("per day", "per month"))
    days = sorted(per_day)
    months = sorted(per_month)
    figure.add_trace(go.Bar(x=days, y=[round(per_day[d], 2) for d in days], name="day"), row=1, col=1)
    figure.add_trace(go.Bar(x=months, y=[round(per_month[m], 2) for m in months], name="month"), row=1, col=2)
    figure.update_yaxes(title_text=data.currency, row=1, col=1)
    figure.update_xaxes(type="category")
    figure.update_layout(showlegend=False)
    _layout(figure, f"Cost ({data.currency})")
    return figure


def heatmap_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    zone = ZoneInfo(data.timezone)
    sums: dict[tuple[int, int], float] = defaultdict(float)
    hours: dict[tuple[int, int], set[datetime]] = defaultdict(set)
    for row in data.hourly:
        local = row.hour_start.astimezone(zone)
        cell = (local.weekday(), local.hour)
        sums[cell] += (row.import_wh + row.estimated_wh) / 1000
        hours[cell].add(row.hour_start)
    z = [
        [round(sums[(day, hour)] / len(hours[(day, hour)]), 4) if hours[(day, hour)] else None for hour in range(24)]
        for day in range(7)
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z, x=list(range(24)), y=list(WEEKDAYS), colorscale="YlOrRd", colorbar={"title": "kWh"}, hoverongaps=False
        )
    )
    figure.update_layout(xaxis_title="local hour", yaxis={"autorange": "reversed"})
    _layout(figure, "Average hourly energy (hour × weekday, all meters)", height=340)
    return figure


def tariff_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    rows = data.tariffs
    labels = [
        f"{row.cost:.2f} {row.currency}"
        + ("" if row.tariff == data.current_tariff or row.saving is None else f"<br>saving {row.saving:+.2f}")
        for row in rows
    ]
    figure = go.Figure(
        go.Bar(
            x=[row.tariff for row in rows],
            y=[round(row.cost, 2) for row in rows],
            text=labels,
            textposition="outside",
            marker_color=["#1f77b4" if row.tariff == data.current_tariff else "#9ecae1" for row in rows],
            hovertext=[f"{row.energy_kwh:.3f} kWh" for row in rows],
        )
    )
    figure.update_layout(yaxis_title=data.currency, xaxis={"type": "category"}, showlegend=False)
    _layout(figure, f"{TARIFF_TITLE} (saving against the current tariff, {data.current_tariff})", height=360)
    return figure


def forecast_figure(data: ReportData) -> Any | None:
    """History, forecast and its 80 % band per series; None when no series has enough history."""
    import plotly.graph_objects as go
    from plotly.colors import hex_to_rgb, qualitative

    if not data.forecast.series:
        return None
    figure = go.Figure()
    for index, series in enumerate(data.forecast.series):
        name = f"{series.device_id} ch {series.channel}"
        red, green, blue = hex_to_rgb(qualitative.Plotly[index % len(qualitative.Plotly)])
        color = f"rgb({red},{green},{blue})"
        dates = [row["date"] for row in series.days]
        figure.add_scatter(
            x=[day.isoformat() for day, _ in series.history],
            y=[kwh for _, kwh in series.history],
            mode="lines",
            line={"color": color},
            name=f"{name} measured",
            legendgroup=name,
        )
        # The band: the upper bound drawn invisibly, the lower bound filled up to it.
        figure.add_scatter(
            x=dates,
            y=[row["upper"] for row in series.days],
            mode="lines",
            line={"width": 0},
            legendgroup=name,
            showlegend=False,
            hoverinfo="skip",
        )
        figure.add_scatter(
            x=dates,
            y=[row["lower"] for row in series.days],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=f"rgba({red},{green},{blue},0.2)",
            name=f"{name} 80 % interval",
            legendgroup=name,
        )
        figure.add_scatter(
            x=dates,
            y=[row["energy_kwh"] for row in series.days],
            mode="lines+markers",
            line={"dash": "dash", "color": color},
            name=f"{name} forecast ({series.model_used})",
            legendgroup=name,
        )
    figure.update_layout(yaxis_title="kWh per local day", xaxis={"type": "date"})
    _layout(figure, FORECAST_TITLE)
    return figure


def solar_figure(data: ReportData) -> Any | None:
    """Per local day over every solar site: generation split into self-consumed and exported, the grid import
    beside it, and self-sufficiency (self-consumed / consumption) on the right axis. None without solar rows."""
    import plotly.graph_objects as go

    if not data.solar:
        return None
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in data.solar:
        for name in ("self_consumption_kwh", "export_kwh", "grid_import_kwh", "consumption_kwh"):
            totals[row.date][name] += getattr(row, name)
    days = sorted(totals)

    def kwh(name: str) -> list[float]:
        return [round(totals[day][name], 3) for day in days]

    sufficiency = [
        round(totals[d]["self_consumption_kwh"] / totals[d]["consumption_kwh"], 4)
        if totals[d]["consumption_kwh"]
        else None
        for d in days
    ]
    figure = go.Figure()
    figure.add_bar(
        name="self-consumed", x=days, y=kwh("self_consumption_kwh"), offsetgroup="solar", marker_color="#2ca02c"
    )
    figure.add_bar(
        name="exported",
        x=days,
        y=kwh("export_kwh"),
        offsetgroup="solar",
        base=kwh("self_consumption_kwh"),
        marker_color="#98df8a",
    )
    figure.add_bar(name="grid import", x=days, y=kwh("grid_import_kwh"), offsetgroup="grid", marker_color="#7f7f7f")
    figure.add_scatter(
        name="self-sufficiency", x=days, y=sufficiency, yaxis="y2", mode="lines+markers", line_color="#ff7f0e"
    )
    figure.update_layout(
        yaxis_title="kWh",
        yaxis2={"title": "self-sufficiency", "overlaying": "y", "side": "right", "tickformat": ".0%", "range": [0, 1]},
        xaxis={"type": "category"},
        barmode="group",
    )
    _layout(figure, SOLAR_TITLE)
    return figure


def power_figure(data: ReportData) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    zone = ZoneInfo(data.timezone)
    for series in data.power:
        ts, values = downsample(series.ts, series.power_w)
        figure.add_trace(
            go.Scatter(
                x=[moment.astimezone(zone).replace(tzinfo=None) for moment in ts],
                y=values,
                mode="lines",
                name=f"{series.device_id} ch {series.channel}",
                line={"width": 1},
            )
        )
    for alert in data.alerts:
        color = SHADED_KINDS.get(alert.kind)
        if color is None:
            continue
        end = alert.end or data.generated_at
        figure.add_vrect(
            x0=alert.start.astimezone(zone).replace(tzinfo=None),
            x1=max(end, alert.start + timedelta(seconds=60)).astimezone(zone).replace(tzinfo=None),
            fillcolor=color,
            line_width=0,
            annotation_text=alert.kind,
            annotation_position="top left",
        )
    figure.update_layout(yaxis_title="W (negative = export)", xaxis_title=f"local time ({data.timezone})")
    _layout(figure, "Power timeline (gaps, outages and offline periods shaded)", height=460)
    return figure


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], css: str = "") -> str:
    head = "".join(f"<th>{html.escape(str(name))}</th>" for name in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def quality_table(data: ReportData) -> str:
    coverage: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in data.daily:
        coverage[(row.device_id, row.date)].append(row.coverage)
    rows = []
    for manifest in sorted(data.manifests, key=lambda m: (m.device_id, m.date)):
        kept = manifest.envelopes - manifest.duplicates - manifest.quarantined
        rows.append(
            [
                manifest.device_id,
                manifest.date,
                manifest.envelopes,
                kept,
                manifest.duplicates,
                manifest.quarantined,
                manifest.readings,
                manifest.first_ts or "",
                manifest.last_ts or "",
            ]
        )
    daily_rows = [
        [
            row.device_id,
            row.channel,
            row.date,
            f"{row.energy_kwh:.3f}",
            f"{row.estimated_kwh:.3f}",
            f"{row.coverage:.1%}",
            f"{row.gap_seconds / 60:.0f}",
            row.counter_resets,
            row.method,
        ]
        for row in data.daily
    ]
    return (
        "<h3>Messages per device and UTC day (received = kept + duplicates + quarantined)</h3>"
        + _table(
            ["device", "UTC day", "received", "kept", "duplicates", "quarantined", "readings", "first", "last"], rows
        )
        + "<h3>Energy quality per channel and local day</h3>"
        + _table(
            ["device", "ch", "date", "kWh", "estimated kWh", "coverage", "gap min", "resets", "method"], daily_rows
        )
    )


def alerts_table(data: ReportData, limit: int = 50) -> str:
    zone = ZoneInfo(data.timezone)
    recent = sorted(data.alerts, key=lambda alert: alert.start, reverse=True)[:limit]
    if not recent:
        return "<p>No alerts.</p>"
    rows = [
        [
            alert.start.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            alert.end.astimezone(zone).strftime("%Y-%m-%d %H:%M") if alert.end else "ongoing",
            alert.severity,
            alert.kind,
            alert.device_id,
            "" if alert.channel is None else alert.channel,
            alert.message,
            "yes" if alert.notified else "no (history)",
        ]
        for alert in recent
    ]
    return _table(["start", "end", "severity", "kind", "device", "ch", "message", "sent"], rows, css="alerts")


STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2430}
header{background:#1d2430;color:#fff;padding:16px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9d1dc;font-size:13px}main{padding:18px 28px}
section{background:#fff;border-radius:8px;padding:12px 16px;margin-bottom:18px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #e3e7ee;
text-align:left}th{background:#eef1f5}.kpis{display:flex;gap:18px;flex-wrap:wrap}.kpi{background:#fff;
border-radius:8px;padding:10px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}.kpi b{display:block;font-size:20px}
"""


def _missing(title: str, reason: str) -> str:
    return f"<h2>{html.escape(title)}</h2><p>No chart: {html.escape(reason)}.</p>"


def _tariff_notes(data: ReportData) -> str:
    return "" if data.tariffs else _missing(TARIFF_TITLE, "no energy in the period")


def _forecast_notes(panel: ForecastPanel) -> str:
    if not panel.series:
        return _missing(FORECAST_TITLE, panel.unavailable or "no energy_hourly rows")
    return "".join(f"<p>Not forecast: {html.escape(note)}</p>" for note in panel.skipped)


def render(data: ReportData) -> str:
    """The dashboard page as one HTML string (plotly.js inlined once)."""
    total_kwh = sum(row.energy_kwh for row in data.daily)
    total_cost = sum(row.cost for row in data.daily)
    export_kwh = sum(row.export_kwh for row in data.daily)
    received = sum(manifest.envelopes for manifest in data.manifests)
    kpis = [
        ("energy", f"{total_kwh:.2f} kWh"),
        ("cost", f"{total_cost:.2f} {data.currency}"),
        ("export", f"{export_kwh:.2f} kWh"),
        ("MQTT messages", f"{received:,}"),
        ("alerts", str(len(data.alerts))),
    ]
    # (name, figure or None, HTML shown after the figure, or instead of it when there is none)
    panels: list[tuple[str, Any | None, str]] = [
        ("daily", daily_zone_figure(data), ""),
        ("cost", cost_figure(data), ""),
        ("tariffs", tariff_figure(data) if data.tariffs else None, _tariff_notes(data)),
        ("heatmap", heatmap_figure(data), ""),
        ("forecast", forecast_figure(data), _forecast_notes(data.forecast)),
        ("solar", solar_figure(data), ""),
        ("power", power_figure(data), ""),
    ]
    sections: list[str] = []
    charts = 0
    for name, figure, notes in panels:
        chart = "" if figure is None else _figure_html(figure, first=charts == 0, div_id=f"chart-{name}")
        charts += bool(chart)
        if chart or notes:
            sections.append(f'<section id="panel-{name}">{chart}{notes}</section>')
    kpi_html = "".join(f'<div class="kpi">{html.escape(name)}<b>{html.escape(value)}</b></div>' for name, value in kpis)
    generated = data.generated_at.astimezone(UTC).isoformat()
    meta = {
        "generated_at": generated,
        "timezone": data.timezone,
        "days": sorted({row.date for row in data.daily}),
    }
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>{STYLE}</style></head><body>"
        f"<header><h1>{html.escape(data.title)}</h1><p>Generated {html.escape(generated)} · "
        f"local time {html.escape(data.timezone)} · works offline</p></header><main>"
        f'<div class="kpis">{kpi_html}</div><br>'
        + "".join(sections)
        + f"<section><h2>Data quality</h2>{quality_table(data)}</section>"
        + f"<section><h2>Recent alerts</h2>{alerts_table(data)}</section>"
        + f"<script type='application/json' id='wattline-meta'>{html.escape(json.dumps(meta))}</script>"
        + "</main></body></html>"
    )


def collect(
    warehouse: Any,
    s3: Any,
    *,
    timezone: str,
    tariff: Tariff,
    start: date | None = None,
    end: date | None = None,
    title: str = "wattline energy dashboard",
    now: datetime | None = None,
    readings: Callable[[datetime, datetime], Sequence[Reading]] | None = None,
    roles: ChannelRoles | None = None,
) -> ReportData:
    """Everything the dashboard shows, from the warehouse (energy, readings, alerts) and the raw bucket (manifests).

    The tariff comparison prices the period's hours under every preset and `tariff` (`wattline.whatif`); the
    forecast uses the whole history, not only the period: the next FORECAST_DAYS days after the newest complete
    local day (`wattline.forecast`, as `wattline forecast` does). `readings(start, end)`, when given, replaces
    `readings_ext` for the power timeline (e.g. the daily files read from the bucket where the external table reads
    nothing, as on bqemulator)."""
    from wattline import keys
    from wattline.forecast import series_histories
    from wattline.solar import solar_days
    from wattline.warehouse import fetch_daily_energy, fetch_hourly_energy
    from wattline.warehouse.schema import query_text

    manifests = [
        DailyManifest.model_validate_json(s3.get(key))
        for key in s3.list_keys(keys.DAILY_PREFIX)
        if key.endswith(keys.MANIFEST_FILE)
    ]
    span = warehouse.query(
        "SELECT MIN(hour_start) AS first, MAX(hour_start) AS last FROM `{{project}}.{{dataset}}.energy_hourly`"
    )
    zone = ZoneInfo(timezone)
    first_hour, last_hour = (span[0]["first"], span[0]["last"]) if span else (None, None)
    if start is None:
        start = first_hour.astimezone(zone).date() if first_hour else date.today()
    if end is None:
        end = last_hour.astimezone(zone).date() if last_hour else date.today()
    begin = datetime.combine(start, datetime.min.time(), zone).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
    daily = fetch_daily_energy(warehouse, start, end, tariff=tariff, roles=roles)
    hourly = fetch_hourly_energy(warehouse, start, end, timezone=timezone)
    # The solar rows from the hours in hand (the library `solar_daily` is tested equal to), not one more query.
    solar = solar_days(hourly, roles, tariff=tariff, timezone=timezone) if roles else []
    histories = series_histories(warehouse.query(query_text("forecast_hourly"), {"device_id": None}))
    if readings is not None:
        found = [r for r in readings(begin, finish) if r.power_w is not None and r.channel is not None]
        rows: list[dict[str, Any]] = [
            {"device_id": r.device_id, "channel": r.channel, "ts": r.ts, "power_w": r.power_w}
            for r in sorted(found, key=lambda r: (r.device_id, r.channel or 0, r.ts))
        ]
    else:
        rows = warehouse.query(
            "SELECT device_id, channel, ts, power_w FROM `{{project}}.{{dataset}}.readings_ext` "
            "WHERE dt BETWEEN @first_day AND @last_day AND ts >= @start AND ts < @end AND power_w IS NOT NULL "
            "ORDER BY device_id, channel, ts",
            {
                "first_day": start - timedelta(days=1),
                "last_day": end + timedelta(days=1),
                "start": begin,
                "end": finish,
            },
        )
    grouped: dict[tuple[str, int], PowerSeries] = {}
    for row in rows:
        series_key = (str(row["device_id"]), int(row["channel"]))
        series = grouped.setdefault(series_key, PowerSeries(series_key[0], series_key[1], [], []))
        ts = row["ts"]
        series.ts.append(ts if ts.tzinfo else ts.replace(tzinfo=UTC))
        series.power_w.append(float(row["power_w"]))
    alerts = []
    try:
        alert_rows = warehouse.query(
            "SELECT kind, severity, device_id, channel, start_ts, end_ts, message, details "
            "FROM `{{project}}.{{dataset}}.alerts` WHERE start_ts >= @start AND start_ts < @end ORDER BY start_ts",
            {"start": begin - timedelta(days=1), "end": finish},
        )
    except Exception:  # an older warehouse without the alerts table: the dashboard still renders
        alert_rows = []
    for row in alert_rows:
        alerts.append(
            AlertRow(
                str(row["kind"]),
                str(row["severity"]),
                str(row["device_id"]),
                row["channel"],
                _aware(row["start_ts"]),
                _aware(row["end_ts"]) if row["end_ts"] else None,
                str(row["message"]),
                _notified(row.get("details")),
            )
        )
    return ReportData(
        title=title,
        timezone=timezone,
        currency=tariff.currency,
        generated_at=now or datetime.now(UTC),
        daily=daily,
        hourly=hourly,
        power=list(grouped.values()),
        alerts=alerts,
        manifests=manifests,
        current_tariff=tariff.name,
        tariffs=tariff_costs(hourly, current=tariff, timezone=timezone),
        forecast=forecast_panel(histories),
        solar=solar,
    )


def _notified(details: Any) -> bool:
    """A ledger row's details (JSON text) say whether its alert was sent (wattline.alerts.ledger.NOTIFIED)."""
    values = json.loads(details) if isinstance(details, str) and details else details or {}
    return not isinstance(values, dict) or values.get(NOTIFIED) is not False


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
