"""Runners for the rule types beyond single-event KQL queries.

Each module prepares one kind of rule into a detector (``events, now -> alerts``) the way
Kibana's detection engine runs it: :mod:`.lucene_runner` (query rules in Lucene),
:mod:`.eql_runner`, :mod:`.threshold`, :mod:`.new_terms` and :mod:`.esql_runner`.
:mod:`.window` decides the rule run's time and look-back window, :mod:`.expect` compares alerts
with a fixture case's detailed expectations. ``detection.engine.RUNNERS`` maps rule type and
language to them.
"""
