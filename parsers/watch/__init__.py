"""``parse-log watch``: follow logs through the run store and tell someone when a rule fires.

    state    which alerts were sent already (a file in the store folder)
    message  an alert as one line, as JSON, as chat text, as environment variables
    webhook  POSTing an alert to Slack, Feishu/Lark, DingTalk, WeCom or any JSON endpoint
    deliver  stdout, ``--exec CMD`` and the webhook, each failure reported and survived
    loop     refresh, evaluate (``parsers.insights.alerts``), deliver, sleep; stop on a signal
    command  the command's arguments and its one call

The rules themselves live in ``parsers.insights.alerts`` so the dashboard shows the same
alerts.  Nothing here parses log text.
"""
