"""Does the org have what ``routing_rules/fields.yaml`` maps? (``leadroute crm check``)

Orgs differ, and a mapping written for one org names fields another lacks, or that
the integration user cannot edit. This compares the mapping with the CRM's own
description of each object (Salesforce's describe API, or the local CRM's tables)
and reports every field read that does not exist and every field written that
does not exist or is not updateable, at the line of ``fields.yaml`` that names it.
"""

from __future__ import annotations

from pipelines.crm.base import CrmAdapter, FieldInfo
from pipelines.crm.fields import FieldMapping
from pipelines.sourcefile import ConfigProblem, SourceRef, load_yaml, locate


def check_mapping(crm: CrmAdapter, mapping: FieldMapping, task_key_field: str | None = None) -> list[ConfigProblem]:
    """Every mapped field the CRM lacks, or cannot update where the mapping writes it."""
    file = mapping.source
    data = load_yaml(file)
    objects = data.get("objects", {}) if isinstance(data, dict) else {}
    names = sorted({m.sobject for m in mapping.objects.values()} | ({"Task"} if task_key_field else set()))
    described = crm.describe(names)
    problems: list[ConfigProblem] = []

    def at(*path) -> SourceRef:
        return SourceRef(file, locate(objects, path))

    for obj, m in mapping.objects.items():
        fields = described.get(m.sobject)
        if fields is None:
            problems.append(ConfigProblem(at(obj, "sobject"), f"{m.sobject} does not exist in the CRM, or this user "
                                                              f"cannot see it (objects.{obj}.sobject)"))
            continue
        reads: dict[str, tuple] = {m.key: (obj, "key"), m.modstamp: (obj, "modstamp")}
        for name in m.filter:
            reads.setdefault(name, (obj, "filter", name))
        for canonical, spec in m.fields.items():
            for source in spec.sources:
                reads.setdefault(source, (obj, "fields", canonical))
        for source, path in reads.items():
            if _field(fields, source) is None:
                problems.append(ConfigProblem(at(*path), f"{m.sobject}.{source} does not exist in the CRM, or this "
                                                         f"user cannot read it ({'.'.join(('objects',) + path)})"))
        for output, target in m.writes.items():
            info = _field(fields, target)
            where = at(obj, "writes", output)
            if info is None:
                problems.append(ConfigProblem(where, f"{m.sobject}.{target} does not exist in the CRM, so "
                                                     f"{output} cannot be written (objects.{obj}.writes.{output})"))
            elif not info.updateable:
                problems.append(ConfigProblem(where, f"{m.sobject}.{target} is not updateable by this user "
                                                     f"(objects.{obj}.writes.{output}); grant edit access to the field "
                                                     f"or map another one"))
    if task_key_field:
        task = described.get("Task") or {}
        info = _field(task, task_key_field)
        if info is None or not info.external_id:
            problems.append(ConfigProblem(
                SourceRef(file), f"Task.{task_key_field} is {'missing' if info is None else 'not an External ID'}: "
                                 f"follow-up tasks are upserted on it so a retried push never duplicates one; create "
                                 f"it (text, External ID, unique) or set SALESFORCE_TASK_EXTERNAL_ID",
                severity="warning"))
    return problems


def _field(fields: dict[str, FieldInfo], name: str) -> FieldInfo | None:
    """API names are case-insensitive."""
    if name in fields:
        return fields[name]
    lower = name.lower()
    return next((f for n, f in fields.items() if n.lower() == lower), None)
