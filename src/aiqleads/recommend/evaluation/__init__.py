"""Offline evaluation of recommenders: interaction data, splits, metrics, baselines, a runner.

Pure numpy: nothing here reads the database. `data.Interactions.from_events` turns rows of the
event log (or of a public data set, see `datasets`) into arrays; `split` divides them into a
training and a test part; `baselines` holds the popularity and random recommenders; `metrics`
scores ranked lists against the test part; `runner.evaluate` ties them together.
"""
