"""The HTML dashboard: `dashboard.collect(...)` reads the warehouse and buckets, `dashboard.render(data)` returns
one self-contained page (Plotly with plotly.js inlined; opens without network)."""
