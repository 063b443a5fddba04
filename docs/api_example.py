"""oncobench from a notebook: run a small benchmark, get a DataFrame, compare, report.

The README shows this file; tests/test_api.py runs it (in a temporary folder).
"""

import logging

from benchmarks import api

logging.basicConfig(level=logging.INFO, format="%(message)s")  # progress lines (logger "oncobench")

# One row per record (model x dataset x seed), the columns of results.csv.
df = api.run(models=["logreg", "dnn"], datasets="wisconsin", seeds=[0, 1], profile="quick",
             output="results/api-demo", hparams={"dnn": {"dropout": 0.2}}, epochs=3)
print(df[["model", "dataset", "seed", "accuracy", "f1_macro", "train_time_s"]])
print(df.groupby("model")["accuracy"].agg(["mean", "std"]))

again = api.load("results/api-demo")  # the same records, read back from disk
table = api.summary("results/api-demo")  # per model x dataset: mean, std, 95% CI, hp.* columns
verdicts = api.compare("results/api-demo", "results/api-demo")  # per model, dataset, metric
print(verdicts[["model", "dataset", "metric", "verdict"]].head())
html = api.report("results/api-demo")  # report.md + report.html + figures/
print(html)
