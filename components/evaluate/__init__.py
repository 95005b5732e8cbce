"""evaluate: model metrics, slices of predictions, the analysis report and the blessing."""
