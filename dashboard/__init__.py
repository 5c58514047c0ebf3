"""epochscope dashboard: chart builders shared with ``parse-log report``, and the report writer.

``dashboard.charts`` imports only plotly, pandas and numpy, so the Streamlit app and
the CLI draw the same figures; nothing here imports Streamlit at import time.
"""
