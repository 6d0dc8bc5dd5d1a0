"""Local ``evaluate`` modules, one script per metric, loaded offline by path.

``evaluate.load(<path to script>)`` copies a script into its module cache and imports it from
there; the hub is never asked. Load them with ``repotune.evaluation.local_metrics.load_metric``.
Each script is a thin ``evaluate.Metric`` around a definition in ``repotune.evaluation`` (tested
without ``evaluate``). The scripts keep one import per line and no comments on import lines:
``evaluate``'s dependency scanner misreads both.
"""
