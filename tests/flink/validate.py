"""Checks kin's generated Flink SQL with Flink's own parser and planner (PyFlink), offline.

Usage: python validate.py FILE.sql...   (with apache-flink installed; Java 11+ on the PATH)

For each file, in a fresh streaming TableEnvironment:
- every CREATE TABLE runs with its WITH options replaced: 'connector' = 'datagen' for the
  analytics' inputs, 'connector' = 'blackhole' for its output (the Kinesis and Firehose connector
  jars are not available offline); columns, watermarks and PARTITIONED BY are kept as written;
- the INSERT is planned with explain_sql. When the output has no CREATE TABLE (its record type
  is not known yet, see spec/flink-sql.md), its SELECT alone is planned.

Every file is checked; each problem is reported with the file, the statement and Flink's error.
Exit status 0 when Flink accepts every file, 1 otherwise, 2 on bad usage.
"""

import re
import sys

WITH = "\nWITH (\n"
INSERT = re.compile(r"INSERT INTO `((?:[^`]|``)+)`\n", re.S)
CREATE = re.compile(r"CREATE TABLE `((?:[^`]|``)+)`", re.S)


def split_statements(text):
    """Splits on `;` outside string literals, quoted identifiers and comments; drops comments."""
    statements, current, i = [], [], 0
    while i < len(text):
        c = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        if c in "'`":
            end = i + 1
            while end < len(text):
                if text[end] == c:
                    if text.startswith(c * 2, end):
                        end += 2
                        continue
                    break
                end += 1
            current.append(text[i : end + 1])
            i = end + 1
            continue
        if c == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(c)
        i += 1
    rest = "".join(current).strip()
    if rest:
        statements.append(rest)
    return [s for s in statements if s]


def unquote(name):
    return name.replace("``", "`")


def offline(create, connector):
    """The CREATE TABLE with its WITH clause replaced by an offline connector."""
    at = create.rfind(WITH)
    if at < 0:
        raise ValueError("no WITH clause")
    return create[:at] + "\nWITH ('connector' = '" + connector + "')"


DETAILS = ("Cause:", "Query schema:", "Sink schema:")


def flink_error(error):
    """The informative part of a Py4J/Flink exception: the innermost Java messages, and for a
    column type mismatch the column and both schemas."""
    text = str(error)
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("at ")]
    causes = [l.lstrip(": ") for l in lines if "Exception" in l or "Error" in l]
    details = [l for l in lines if l.startswith(DETAILS)]
    return "\n    ".join((causes[:3] or lines[:3]) + details[:3])


def check_file(path, environment):
    text = open(path, encoding="utf-8").read()
    statements = split_statements(text)
    inserts = [s for s in statements if s.startswith("INSERT INTO")]
    if len(inserts) != 1 or not statements[-1].startswith("INSERT INTO"):
        return [f"{path}: expected the last statement to be the one INSERT INTO"]
    match = INSERT.match(inserts[0] + "\n") or INSERT.match(inserts[0])
    if match is None:
        return [f"{path}: the INSERT does not name its target as INSERT INTO `name`"]
    target = unquote(match.group(1))
    problems, created = [], set()
    t_env = environment()
    for statement in statements[:-1]:
        create = CREATE.match(statement)
        if create is None:
            problems.append(f"{path}: unexpected statement:\n  {statement[:200]}")
            continue
        name = unquote(create.group(1))
        connector = "blackhole" if name == target else "datagen"
        try:
            t_env.execute_sql(offline(statement, connector))
            created.add(name)
        except Exception as error:  # Py4JJavaError, ValueError, pyflink exceptions
            problems.append(
                f"{path}: CREATE TABLE `{name}` is rejected:\n    {flink_error(error)}"
            )
    insert = statements[-1]
    try:
        if target in created:
            where = "line 1 is the INSERT INTO line"
            t_env.explain_sql(insert)
            what = "INSERT planned"
        else:
            where = "line 1 is the first line of the analytics SQL"
            t_env.sql_query(insert[match.end() :]).explain()
            what = f"SELECT planned (no CREATE TABLE for `{target}`: its type is unknown)"
    except Exception as error:
        problems.append(
            f"{path}: INSERT INTO `{target}` is rejected ({where}):\n    {flink_error(error)}"
        )
    else:
        if not problems:
            print(f"ok {path}: {len(created)} tables created, {what}")
    return problems


def main(paths):
    if not paths:
        print("usage: validate.py FILE.sql...", file=sys.stderr)
        return 2
    from pyflink.table import EnvironmentSettings, TableEnvironment

    settings = EnvironmentSettings.in_streaming_mode()

    def environment():
        t_env = TableEnvironment.create(settings)
        t_env.get_config().set("table.local-time-zone", "UTC")
        return t_env

    problems = []
    for path in paths:
        problems.extend(check_file(path, environment))
    for problem in problems:
        print("FLINK REJECTED " + problem, file=sys.stderr)
    print(f"{len(paths)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
