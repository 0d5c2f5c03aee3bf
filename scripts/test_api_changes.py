"""Tests of scripts/api_changes.py's idea of a breaking change."""

import copy
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from api_changes import breaking_changes  # noqa: E402

BASE = {
    "paths": {
        "/things": {
            "get": {
                "operationId": "listThings",
                "parameters": [{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer"}}],
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
                "security": [{"apiKey": ["read:things"]}],
            },
            "post": {
                "operationId": "createThing",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewThing"}}}},
                "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}},
            },
        }
    },
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "kind"],
                "properties": {"id": {"type": "string"}, "kind": {"type": "string"}, "note": {"type": ["string", "null"]}},
            },
            "NewThing": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"type": "string", "enum": ["a", "b"]}, "note": {"type": "string"}},
            },
        }
    },
}


def changed(edit):
    new = copy.deepcopy(BASE)
    edit(new)
    return breaking_changes(BASE, new)


class BreakingChanges(unittest.TestCase):
    def test_the_same_document_has_none(self):
        self.assertEqual(breaking_changes(BASE, copy.deepcopy(BASE)), [])

    def test_additions_are_not_breaking(self):
        def edit(d):
            d["components"]["schemas"]["Thing"]["properties"]["extra"] = {"type": "string"}
            d["components"]["schemas"]["NewThing"]["properties"]["extra"] = {"type": "string"}
            d["components"]["schemas"]["NewThing"]["properties"]["kind"]["enum"].append("c")
            d["paths"]["/things"]["get"]["parameters"].append({"name": "q", "in": "query", "required": False, "schema": {"type": "string"}})
            d["paths"]["/other"] = {"get": {"operationId": "other", "responses": {}}}
        self.assertEqual(changed(edit), [])

    def test_removed_operation(self):
        self.assertEqual(changed(lambda d: d["paths"]["/things"].pop("get")), ["GET /things: removed"])

    def test_renamed_operation_id(self):
        def edit(d):
            d["paths"]["/things"]["get"]["operationId"] = "things"
        self.assertIn("operationId listThings became things", changed(edit)[0])

    def test_new_required_request_field(self):
        def edit(d):
            d["components"]["schemas"]["NewThing"]["required"].append("note")
        self.assertEqual(changed(edit), ["POST /things body.note: newly required"])

    def test_request_enum_value_removed(self):
        def edit(d):
            d["components"]["schemas"]["NewThing"]["properties"]["kind"]["enum"] = ["a"]
        self.assertEqual(changed(edit), ["POST /things body.kind: no longer accepts ['b']"])

    def test_response_field_removed_or_optional_or_nullable(self):
        def edit(d):
            thing = d["components"]["schemas"]["Thing"]
            thing["properties"].pop("note")
            thing["required"].remove("kind")
            thing["properties"]["id"]["type"] = ["string", "null"]
        got = changed(edit)
        for expected in ("GET /things 200.note: removed", "GET /things 200.kind: no longer always present",
                         "GET /things 200.id: may now be null", "POST /things 201.id: may now be null"):
            self.assertIn(expected, got)

    def test_parameter_made_required(self):
        def edit(d):
            d["paths"]["/things"]["get"]["parameters"][0]["required"] = True
        self.assertEqual(changed(edit), ["GET /things parameter limit: now required"])

    def test_security_changed(self):
        def edit(d):
            d["paths"]["/things"]["get"]["security"] = [{"apiKey": ["read:all"]}]
        self.assertIn("security", changed(edit)[0])


if __name__ == "__main__":
    unittest.main()
