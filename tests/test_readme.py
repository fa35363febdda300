"""The README's curl examples, run as written (in order) against the app on
real waitress with development.ini's tokens: each answers the status its
comment says, and the data too where the comment shows it."""

import json
import re
import shlex
import subprocess

from .support import ROOT, served

DEV_TOKENS = "dev-token-alice alice\ndev-token-bob bob"
DOCUMENTED_ADDRESS = "http://127.0.0.1:6543"


# A shell variable set from a command's output: name=$(command).
ASSIGNMENT = re.compile(r"(\w+)=\$\((curl .*)\)")


def readme_commands():
    """((expected status, expected data or None), curl arguments) of every
    curl command of the sh blocks of the README's "Trying it" section; a
    line that sets a shell variable from a curl pipeline is (name, its shell
    text)."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Trying it"):]
    section = section[:section.index("\n## ", 3)]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        expected = None
        for line in block.replace("\\\n", " ").splitlines():
            status = re.search(r"\((\d{3})\b(?:\): (\{.*?\}|\[.*?\]))?", line) if line.startswith("#") else None
            assignment = ASSIGNMENT.fullmatch(line)
            if status:
                expected = (int(status.group(1)), json.loads(status.group(2)) if status.group(2) else None)
            elif assignment:
                commands.append((assignment.group(1), assignment.group(2)))
            elif line.startswith("curl "):
                commands.append((expected, shlex.split(line)))
    return commands


def test_the_readme_has_curl_examples_for_each_resource():
    urls = " ".join(argument for _, command in readme_commands() for argument in command)
    for resource in ["lambda_instances", "lambda_applications", "authenticate", "users/count"]:
        assert f"{DOCUMENTED_ADDRESS}/api/{resource}" in urls


def test_every_readme_curl_example_answers_as_its_comment_says(make_app):
    commands = readme_commands()
    assert all(expected is not None for expected, _ in commands)
    variables = {}
    with served(make_app(**{"lambda_registry.static_tokens": DEV_TOKENS}), threads=2) as (host, port):
        for expected, command in commands:
            if isinstance(expected, str):  # name=$(pipeline): run by the shell, as a reader would
                pipeline = command.replace(DOCUMENTED_ADDRESS, f"http://{host}:{port}")
                done = subprocess.run(["sh", "-c", pipeline], capture_output=True, text=True, timeout=30)
                assert done.returncode == 0 and done.stdout.strip(), (pipeline, done.stderr)
                variables[expected] = done.stdout.strip()
                continue
            command = [argument.replace(DOCUMENTED_ADDRESS, f"http://{host}:{port}") for argument in command]
            for name, value in variables.items():
                command = [argument.replace("$" + name, value) for argument in command]
            done = subprocess.run(command + ["-s", "-w", "\n%{http_code}"], capture_output=True, text=True, timeout=30)
            body, _, status = done.stdout.rpartition("\n")
            assert (done.returncode, int(status)) == (0, expected[0]), (command, done.stdout, done.stderr)
            if expected[1] is not None:
                assert json.loads(body)["data"] == expected[1], command
