"""The locust user of ``serve --loadtest`` (run by ``locust -f`` headless in its own process: locust
monkey-patches the process with gevent). Posts v2 infer bodies from ``--bodies`` (a JSON list,
cycled) to ``--path`` until ``--max-requests`` have completed, at ``--rate`` requests/s over all
users (0: closed loop, as fast as each user gets answers); writes every request's latency (ms,
locust's own perf_counter timing, unrounded) to ``--latencies-out`` when it quits."""

from __future__ import annotations

import itertools
import json
import random

import gevent
from locust import FastHttpUser, constant, constant_throughput, events, task
from locust.exception import StopUser

STATE = {"issued": 0, "done": 0, "rows": [], "bodies": None, "cycle": None}


@events.init_command_line_parser.add_listener
def _args(parser) -> None:
    parser.add_argument("--bodies", required=True, help="JSON list of request bodies (strings)")
    parser.add_argument("--path", required=True, help="request path, e.g. /v2/models/NAME/infer")
    parser.add_argument("--max-requests", type=int, default=2000)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="target requests/s over all users (0: closed loop)"
    )
    parser.add_argument("--latencies-out", required=True)


@events.test_start.add_listener
def _start(environment, **kw) -> None:
    with open(environment.parsed_options.bodies) as fh:
        STATE["bodies"] = [b.encode() for b in json.load(fh)]
    STATE["cycle"] = itertools.cycle(STATE["bodies"])


@events.request.add_listener
def _record(
    request_type, name, response_time, response_length, response=None, exception=None, start_time=None, **kw
) -> None:
    status = getattr(response, "status_code", 0) if response is not None else 0
    STATE["rows"].append(
        (float(response_time), int(status), exception is None and status == 200, float(start_time or 0.0))
    )


@events.quitting.add_listener
def _write(environment, **kw) -> None:
    with open(environment.parsed_options.latencies_out, "w") as fh:
        json.dump({"rows": STATE["rows"], "issued": STATE["issued"]}, fh)


class V2User(FastHttpUser):
    """One client connection posting infer requests back to back (or paced by ``--rate``)."""

    def wait_time(self) -> float:
        opts = self.environment.parsed_options
        if opts.rate > 0:
            return constant_throughput(opts.rate / max(1, opts.num_users))(self)
        return constant(0)(self)

    def on_start(self) -> None:
        """Paced (``--rate``): start at a random phase of the period, so that the users' requests
        interleave instead of arriving together (locust starts a batch of users at once)."""
        opts = self.environment.parsed_options
        if opts.rate > 0:
            gevent.sleep(random.random() * max(1, opts.num_users) / opts.rate)

    @task
    def infer(self) -> None:
        opts = self.environment.parsed_options
        if STATE["issued"] >= opts.max_requests:
            raise StopUser()  # every request is issued; the last answer ends the test
        STATE["issued"] += 1
        self.client.post(
            opts.path, data=next(STATE["cycle"]), headers={"Content-Type": "application/json"}, name="infer"
        )
        STATE["done"] += 1
        if STATE["done"] >= opts.max_requests and self.environment.runner is not None:
            self.environment.runner.quit()
