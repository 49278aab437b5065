"""llmmon: Airflow-native, warehouse-first monitoring for LLMs in production.

The library never imports Airflow; DAGs and plugins call into it.
"""

__version__ = "0.1.0"
