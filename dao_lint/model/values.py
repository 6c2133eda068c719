"""What the project summary learns about values: the class a receiver is (annotations,
constructors, class attributes, `self.x = Repo()`), the keys of dict literals passed as
`**kwargs`, and functions used as values (callbacks). `Values` is a part the `Summarizer` holds and
calls; the summarizer owns the state it reads (`frame`, `stack`, `class_stack`,
`references`)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from ..analysis import SessionFacts
from ..analysis.names import dotted_name
from ..analysis.rows import query_result
from .summary import CallSite, FunctionInfo, Position

__all__ = ["EXTERNAL", "ORM_ATTRIBUTES", "Values", "literal_keys"]

# a value of another library's class (what it is does not matter: never the project's)
EXTERNAL = "<outside>"
# attributes SQLAlchemy gives mapped classes: calls on them never run the project's methods
ORM_ATTRIBUTES = frozenset({"__table__", "__mapper__", "metadata", "__tablename__"})


def literal_keys(value: cst.BaseExpression) -> Optional[Tuple[str, ...]]:
    """The keys of a dict literal whose keys are all plain strings, else None."""
    if not isinstance(value, cst.Dict):
        return None
    keys = []
    for element in value.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        key = element.key.evaluated_value
        if not isinstance(key, str):
            return None
        keys.append(key)
    return tuple(keys)


class Values:
    """What values are, as the summarizer walks a file: it calls these from its own visitor
    methods, and they read and write the state it owns (`frame`, `stack`, `class_stack`,
    `references`)."""

    def __init__(self, summarizer) -> None:  # noqa: ANN001 - a Summarizer (which imports this module)
        self.summarizer = summarizer

    def type_of(self, annotation: Optional[cst.BaseExpression]) -> Optional[str]:
        """The class an annotation names (`QueryDAO`, `Optional[QueryDAO]`, `"QueryDAO"`)."""
        if isinstance(annotation, cst.Subscript) and dotted_name(annotation.value) in ("Optional", "typing.Optional", "type", "Type"):
            element = annotation.slice[0].slice if annotation.slice else None
            annotation = element.value if isinstance(element, cst.Index) else None
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            dotted = text if isinstance(text, str) and all(p.isidentifier() for p in text.split(".")) else None
        else:
            dotted = dotted_name(annotation) if annotation is not None else None
        if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            return None
        return self.summarizer._qualify(dotted) or dotted

    def _element_type(self, annotation: cst.BaseExpression) -> Optional[str]:
        """`Cache` for `dict[Region, Cache]`, `list[Cache]`, `Sequence[Cache]`: what a
        subscript of the container gives."""
        if not isinstance(annotation, cst.Subscript) or not annotation.slice:
            return None
        container = (dotted_name(annotation.value) or "").rsplit(".", 1)[-1].lower()
        if container not in ("dict", "list", "sequence", "mapping", "mutablemapping", "tuple", "defaultdict"):
            return None
        last = annotation.slice[-1].slice
        return self.type_of(last.value) if isinstance(last, cst.Index) else None

    def _value_type(self, value: cst.BaseExpression) -> Optional[str]:
        """The class whose instance (or the class itself) a value is: `Repo()`, `ChartDAO`."""
        if isinstance(value, cst.Call):
            value = value.func
        dotted = dotted_name(value)
        if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            known = self.summarizer.frame.types.get(dotted) if dotted else None
            return known
        return self.summarizer._qualify(dotted) or dotted

    def class_attributes(self, node: cst.ClassDef) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for statement in getattr(node.body, "body", ()):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    known = self.type_of(small.annotation.annotation)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    known = self._value_type(small.value)
                else:
                    continue
                if known is not None:
                    target = small.target if isinstance(small, cst.AnnAssign) else small.targets[0].target
                    found[target.value] = known
        return found

    # -- what local names hold -------------------------------------------------------------
    def visit_Subscript(self, node: cst.Subscript) -> None:
        # `kwargs[key] = ...` (or any use by subscript) may add keys: no longer known
        if isinstance(node.value, cst.Name):
            self.summarizer.frame.dict_keys.pop(node.value.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                keys = literal_keys(value)
                if keys is not None:
                    self.summarizer.frame.dict_keys[target.target.value] = keys
                else:
                    self.summarizer.frame.dict_keys.pop(target.target.value, None)
        ctor = dotted_name(value.func) if isinstance(value, cst.Call) else None
        for target in node.targets:
            self._note_attribute(target.target, value)
            if not isinstance(target.target, cst.Name):
                continue
            if not self.summarizer.stack and self.summarizer.class_stack:
                continue  # a class attribute: `class_attributes` has it
            name = target.target.value
            rows = query_result(value)
            if ctor is not None and ctor.rsplit(".", 1)[-1][:1].isupper():
                self.summarizer.frame.types[name] = self.summarizer._qualify(ctor) or ctor
            elif rows is not None:  # `setting = Setting.query.filter_by(...).first()`
                self.summarizer.frame.types[f"{name}[]" if rows[1] else name] = self.summarizer._qualify(rows[0]) or rows[0]
            elif isinstance(value, cst.Call) and self._returns_outside_object(value):
                self.summarizer.frame.types[name] = EXTERNAL
            else:
                self.summarizer.frame.types.pop(name, None)
            if self.summarizer.stack:
                self._note_value(value)

    def _returns_outside_object(self, call: cst.Call) -> bool:
        """The call returns an object of another library (`Image.open(...)`, then its
        `.resize(...)`), never an instance of the project's classes. Not for session and
        query calls: they return the project's models."""
        current: cst.BaseExpression = call
        while isinstance(current, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(current, cst.Call):
                if self.summarizer.get_metadata(SessionFacts, current, None) is not None:
                    return False
                current = current.func
            else:
                current = current.value
        head = dotted_name(current)
        if head is None:
            return False
        if self.summarizer.frame.types.get(head) == EXTERNAL:
            return True
        imported = self.summarizer._imported(head)
        own = (self.summarizer.context.module_name or "").split(".")[0]
        return imported is not None and not imported.startswith(".") and imported.split(".")[0] not in (own, "")

    def visit_For(self, node: cst.For) -> None:
        """`for member in session.query(Member).all():` (or a name holding those rows):
        each item is a Member."""
        if not isinstance(node.target, cst.Name):
            return
        rows = query_result(node.iter)
        if rows is not None and rows[1]:
            self.summarizer.frame.types[node.target.value] = self.summarizer._qualify(rows[0]) or rows[0]
        elif isinstance(node.iter, cst.Name) and f"{node.iter.value}[]" in self.summarizer.frame.types:
            self.summarizer.frame.types[node.target.value] = self.summarizer.frame.types[f"{node.iter.value}[]"]
        else:
            self.summarizer.frame.types.pop(node.target.value, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        known = self.type_of(node.annotation.annotation)
        target = dotted_name(node.target)
        element = self._element_type(node.annotation.annotation)
        if element is not None and isinstance(node.target, cst.Name) and not (self.summarizer.class_stack and not self.summarizer.stack):
            self.summarizer.frame.types[f"{node.target.value}[]"] = element
        if known is not None and target is not None and target.startswith("self.") and target.count(".") == 1:
            owner = self.summarizer.class_stack[-1] if self.summarizer.class_stack else None
            if owner is not None and self.summarizer.stack:
                owner.attributes.setdefault(target[5:], known)

    def _note_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """`self.repo = Repo()` or `self.dao = dao` (an annotated parameter) in a method."""
        dotted = dotted_name(target)
        owner = self.summarizer.class_stack[-1] if self.summarizer.class_stack else None
        if owner is None or not self.summarizer.stack or dotted is None or not dotted.startswith("self.") or dotted.count(".") != 1:
            return
        known = self._value_type(value)
        if known is not None:
            owner.attributes.setdefault(dotted[5:], known)

    def visit_Param(self, node: cst.Param) -> None:
        self.summarizer.not_values.add(id(node.name))
        annotation = node.annotation.annotation if node.annotation is not None else None
        dotted = dotted_name(annotation) if annotation is not None else None
        if dotted is not None and dotted.rsplit(".", 1)[-1][:1].isupper():
            # the parameter's frame is the function's own: visit_FunctionDef pushed it already
            self.summarizer.frame.types[node.name.value] = self.summarizer._qualify(dotted) or dotted

    # -- functions used as values (callbacks) -----------------------------------------------
    def note_references(self, node: cst.Call) -> None:
        for arg in node.args:
            self._note_value(arg.value)

    def _note_value(self, value: cst.BaseExpression) -> None:
        """Remember `value` if it names a function without calling it."""
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                self._note_value(element.value)
            return
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement):
                    self._note_value(element.value)
            return
        dotted = dotted_name(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
        if dotted is None:
            return
        head = dotted.split(".")[0]
        # only what can name a function of the project: an import, a class's attribute, a
        # name of this module (checked against its functions at the end)
        if "." in dotted and not (self.summarizer._imported(head) or head in ("self", "cls") or head[:1].isupper()):
            return
        if head in ("self", "cls") and "." in dotted:
            owner = self.summarizer.current.class_name or (self.summarizer.current.qualname.split(".")[0] if "." in self.summarizer.current.qualname else None)
            if owner is None:
                return
            dotted = owner + dotted[len(head):]
        # where it is used, for messages: the call it is passed to, else the function (a
        # name's own position would cost libcst's position pass over the whole module)
        where = self.summarizer.pos(self.summarizer.call_stack[-1]) if self.summarizer.call_stack else self.summarizer.current.position
        self.summarizer.references.append((self.summarizer._qualify(dotted) or dotted, where))

    def visit_Return(self, node: cst.Return) -> None:
        self.summarizer.frame.exits.append((self.summarizer.pos(node), "return"))
        if node.value is not None and self.summarizer.stack:
            self._note_value(node.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if not self.summarizer.call_stack:
            self._note_value(node.value)

    def function_references(self, functions: Dict[str, FunctionInfo]) -> List[Tuple[str, Position]]:
        """The references that may name a function: imported names, or this module's own."""
        out = []
        for dotted, position in self.summarizer.references:
            head = dotted.split(".")[0]
            if "." in dotted or dotted in functions or head in self.summarizer.classes:
                out.append((dotted, position))
        return sorted(set(out))

    def site(self, node: cst.Call, func: cst.BaseExpression, position: Position, keyword, covered):  # noqa: ANN001, ANN202
        if isinstance(func, cst.Name):
            target = self.summarizer._qualify(func.value) or func.value
            return CallSite("name", target, func.value, position, keyword, covered)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return CallSite("self", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) and receiver.func.value == "super":
            return CallSite("super", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Call):
            ctor = dotted_name(receiver.func)
            if ctor is not None and ctor.rsplit(".", 1)[-1][:1].isupper():
                return CallSite("instance", self.summarizer._qualify(ctor) or ctor, method, position, keyword, covered)
            inner = self.site(receiver, receiver.func, position, None, covered)
            if inner is not None and inner.kind not in ("returned", "unknown"):
                # `self.get_factory().create()`: the factory's return annotation may tell
                return CallSite("returned", f"{inner.kind}|{inner.target}|{inner.method}", method, position, keyword, covered)
            return CallSite("unknown", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Subscript):
            # `_cache[region].delete(key)` with `_cache: dict[Region, Cache]`: a Cache
            base = dotted_name(receiver.value)
            element = self.summarizer.frame.types.get(f"{base}[]") or self.summarizer.frames[0].types.get(f"{base}[]") if base else None
            if element is not None:
                return CallSite("instance", element, method, position, keyword, covered)
        dotted = dotted_name(receiver)
        if dotted is None:
            return CallSite("unknown", "", method, position, keyword, covered)
        if dotted.rsplit(".", 1)[-1] in ORM_ATTRIBUTES:
            # `Tag.__table__.create(bind)`, `Model.metadata.drop_all()`: SQLAlchemy's objects
            return CallSite("instance", EXTERNAL, method, position, keyword, covered)
        known = self.summarizer.frame.types.get(dotted)
        if known is not None:  # `setting = Setting(...)`, then `setting.save()`
            return CallSite("instance", known, method, position, keyword, covered)
        # "attr": the receiver's head is imported; "var": a local, a parameter, a class here
        kind = "attr" if self.summarizer._imported(dotted.split(".")[0]) else "var"
        return CallSite(kind, self.summarizer._qualify(dotted) or dotted, method, position, keyword, covered)
