"""Airflow glue for llmmon that is not a DAG: secrets from connections, callbacks, the plugin entry point.

Dependencies point one way: dags -> plugins -> llmmon. The llmmon library never imports this package.
"""
