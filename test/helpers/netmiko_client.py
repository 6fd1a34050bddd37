"""Drives the appliance with netmiko's cisco_tp driver (Debian python3-netmiko).

Usage: /usr/bin/python3 netmiko_client.py PORT PASSWORD COMMAND...
Prints one JSON object: {"outputs": [...]} with what send_command returned for each command,
or {"error": "..."} when netmiko failed.
"""
import json
import sys

from netmiko import ConnectHandler


def main():
    port, password, commands = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    try:
        conn = ConnectHandler(
            device_type="cisco_tp",
            host="127.0.0.1",
            port=port,
            username="admin",
            password=password,
            allow_agent=False,
            use_keys=False,
            ssh_strict=False,
            system_host_keys=False,
            alt_host_keys=False,
            timeout=20,
            fast_cli=True,
        )
        outputs = [conn.send_command(c) for c in commands]
        conn.disconnect()
        print(json.dumps({"outputs": outputs}))
    except Exception as e:  # report, do not hide: the test prints it
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))
        sys.exit(1)


if __name__ == "__main__":
    main()
