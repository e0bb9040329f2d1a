"""What KEDA's redis scaler reads, run in a container of another namespace: for each trigger given as
JSON in argv[1] (its metadata and TriggerAuthentication parameters: address, databaseIndex, listName,
enableTLS or tls, password, ca), the LLEN it sees. Stdlib and redis-py only (the worker-media image)."""

import json
import sys

import redis


def main(triggers: list[dict]) -> None:
    lengths = {}
    for trigger in triggers:
        host, port = trigger["address"].rsplit(":", 1)
        tls = trigger.get("enableTLS") == "true" or trigger.get("tls") == "enable"
        ca = None
        if trigger.get("ca"):
            ca = "/tmp/keda-ca.crt"
            with open(ca, "w") as handle:
                handle.write(trigger["ca"])
        client = redis.Redis(host=host, port=int(port), db=int(trigger.get("databaseIndex") or 0),
                             password=trigger.get("password"), ssl=tls, ssl_ca_certs=ca, socket_timeout=5)
        lengths[trigger["listName"]] = client.llen(trigger["listName"])
    print(json.dumps(lengths))


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
