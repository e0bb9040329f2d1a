"""What KEDA's redis scaler reads, run in a container of another namespace: for each trigger given as
JSON in argv[1] ({address, databaseIndex, listName, enableTLS, password}), the LLEN it sees.
Stdlib and redis-py only (the worker-media image has both)."""

import json
import sys

import redis


def main(triggers: list[dict]) -> None:
    lengths = {}
    for trigger in triggers:
        host, port = trigger["address"].rsplit(":", 1)
        client = redis.Redis(host=host, port=int(port), db=int(trigger.get("databaseIndex") or 0),
                             password=trigger.get("password"), ssl=trigger.get("enableTLS") == "true",
                             socket_timeout=5)
        lengths[trigger["listName"]] = client.llen(trigger["listName"])
    print(json.dumps(lengths))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
