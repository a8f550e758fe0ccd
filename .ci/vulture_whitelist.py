"""Names vulture cannot see used: set for a library or called by one by name (``make lint``).

Keep it small: each entry is used by something outside our code (a framework protocol, a
driver attribute, a name given as a string). Dead code is deleted, never listed here.
"""

# ruff: noqa
# Read by vulture, never run or imported.

_.media_type  # Starlette reads a Response subclass's media type
_.freeze_panes  # openpyxl worksheet setting
_.collect  # prometheus_client calls a custom collector's collect()
_.isolation_level  # sqlite3 connection attribute (we issue BEGIN ourselves)
_.impl  # SQLAlchemy TypeDecorator
_.cache_ok  # SQLAlchemy TypeDecorator
_.state_cls  # transitions' Machine
_.old_due  # Recomputed: part of the result the CLI and API report
_.trust_env  # httpx client setting in the tests
_.should_exit  # uvicorn server flag
_.daemon_threads  # socketserver setting
_.host_name  # aiosmtpd handler setting
_.do_POST  # http.server handler
_.log_message  # http.server handler
_.handle_EHLO  # aiosmtpd handler
_.handle_RCPT  # aiosmtpd handler
_.handle_DATA  # aiosmtpd handler
_.handle_NOOP  # aiosmtpd handler
_.teardown  # hypothesis stateful machine
_.exc_type  # __exit__ / __aexit__ parameters
_.tb  # __exit__ / __aexit__ parameters
_.mechanism  # aiosmtpd authenticator signature
_.settings_customise_sources  # pydantic-settings hook
_.env_settings  # pydantic-settings hook parameters
_.dotenv_settings  # pydantic-settings hook parameters
_.file_secret_settings  # pydantic-settings hook parameters
_.api_app  # uvicorn "bench.scale:api_app"
_.ceiling_app  # uvicorn "bench.scale:ceiling_app"
_.longgang_v2  # FILINGFLOW_PROGRAMS="tests.support.catalogs:longgang_v2"
NoticeStatus.SENT  # the outbox vocabulary, written by the dispatcher as plain strings
NoticeStatus.DEAD
Channel.SMS  # the channel vocabulary, named by definitions as plain strings
Channel.EMAIL
_.__call__  # a Protocol's call signature (workflow.definition.Checklist)
_.input_type  # FormField: read by the console's case.html.j2
_.handle_starttag  # html.parser.HTMLParser protocol (tests read forms)
_.handle_endtag  # html.parser.HTMLParser protocol
_.added_reason  # pydantic field of a list entry (app/api/routes_lists.py), read by serialisation
_.added_at
_.removed_by
_.removed_reason
_.reason_code  # pydantic field of a refusal count (app/api/routes_overview.py)
