"""llmmon.slo: infrastructure SLO windows, burn rates and triage (issue 7)."""
