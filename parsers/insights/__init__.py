"""Insights: what the tables of a run mean, for every front end alike.

The layer between the run store and the front ends (``parse-log``, the dashboard,
the report): the price table and cost of runs (``cost``), which way a metric
improves (``direction``), how rules are written (``rules``), the alert rules of
``parse-log watch`` (``alerts``), which keys are run information rather than
hyperparameters (``run_info``).  The parser never imports it and it never imports
the dashboard; the store uses ``direction`` and ``run_info`` alone, so that a run's
best metric is picked, and its settings split, by the same rule.  Modules are imported on their own (``from
parsers.insights.cost import run_costs``); this package imports nothing, so
``import parsers`` stays light.
"""
