"""The learned lead score: a LightGBM classifier with a calibrated probability, its versioned
artifacts and their registry, evaluation, the X Education check and the behaviour simulator."""
