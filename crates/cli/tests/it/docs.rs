//! `liveops docs api-diff`, standalone: two OpenAPI files in, the changes
//! out, with an exit status a CI step can act on.

use std::process::{Command, Output};

use serde_json::Value;

use crate::cli::BIN;

/// A petstore in OpenAPI 3.0, YAML, assembled from pieces so that a case
/// can leave a path out.
const HEAD: &str = "\
openapi: 3.0.3
info:
  title: Petstore
  version: 1.2.0
security:
  - api_key: []
paths:
";

const PETS: &str = "  /pets:
    get:
      operationId: listPets
      parameters:
        - name: limit
          in: query
          required: false
          schema:
            type: integer
            format: int32
        - name: status
          in: query
          schema:
            type: string
            enum: [available, pending, sold]
      responses:
        '200':
          description: A page of pets
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: '#/components/schemas/Pet'
        default:
          $ref: '#/components/responses/Error'
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/NewPet'
      responses:
        '201':
          description: Created
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Pet'
";

const PET: &str = "  /pets/{petId}:
    parameters:
      - $ref: '#/components/parameters/PetId'
    get:
      operationId: showPet
      responses:
        '200':
          description: The pet
          content:
            application/json:
              schema:
                $ref: '#/components/schemas/Pet'
        '404':
          $ref: '#/components/responses/Error'
";

const STORE: &str = "  /store/inventory:
    get:
      operationId: inventory
      responses:
        '200':
          description: Counts by status
          content:
            application/json:
              schema:
                type: object
                additionalProperties:
                  type: integer
";

const COMPONENTS: &str = "\
components:
  securitySchemes:
    api_key: {type: apiKey, name: X-API-Key, in: header}
  parameters:
    PetId:
      name: petId
      in: path
      required: true
      schema: {type: integer, format: int64}
  responses:
    Error:
      description: An error
      content:
        application/json:
          schema:
            $ref: '#/components/schemas/Error'
  schemas:
    NewPet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string}
    Pet:
      allOf:
        - $ref: '#/components/schemas/NewPet'
        - type: object
          required: [id]
          properties:
            id: {type: integer, format: int64}
            status:
              type: string
              enum:
                - available
                - pending
                - sold
    Error:
      type: object
      required: [code, message]
      properties:
        code: {type: integer, format: int32}
        message: {type: string}
";

fn petstore_yaml() -> String {
    [HEAD, PETS, PET, STORE, COMPONENTS].concat()
}

/// The same kind of API in OpenAPI 3.1, JSON, with 3.1's own constructs.
const PETSTORE_JSON: &str = r##"{
  "openapi": "3.1.0",
  "info": {"title": "Petstore", "version": "2.0.0"},
  "paths": {
    "/pets/{petId}": {
      "get": {
        "parameters": [
          {"name": "petId", "in": "path", "required": true, "schema": {"type": "integer"}}
        ],
        "responses": {
          "200": {
            "description": "The pet",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}
          }
        }
      }
    }
  },
  "components": {
    "schemas": {
      "Pet": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
          "id": {"type": "integer"},
          "name": {"type": "string"},
          "tag": {"type": "string"},
          "kind": {"const": "pet"},
          "owner": {"oneOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]}
        },
        "examples": [{"id": 1, "name": "Rex"}]
      },
      "Owner": {"type": "object", "properties": {"name": {"type": "string"}}}
    }
  },
  "webhooks": {
    "newPet": {
      "post": {
        "requestBody": {
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}
        },
        "responses": {"200": {"description": "ok"}}
      }
    }
  }
}"##;

/// `base` with the one `from` in it replaced by `to`.
fn edit(base: &str, from: &str, to: &str) -> String {
    assert_eq!(base.matches(from).count(), 1, "`{from}` once in the spec");
    base.replacen(from, to, 1)
}

/// Runs `liveops docs api-diff OLD NEW FLAGS…` on specs written to files.
fn api_diff(old: &str, new: &str, flags: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = |name: &str, text: &str| {
        let ext = if text.trim_start().starts_with('{') {
            "json"
        } else {
            "yaml"
        };
        let path = dir.path().join(format!("{name}.{ext}"));
        std::fs::write(&path, text).expect("write spec");
        path.display().to_string()
    };
    let (old, new) = (file("old", old), file("new", new));
    Command::new(BIN)
        .args(["docs", "api-diff", &old, &new])
        .args(flags)
        .env_remove("LIVEOPS_SERVER")
        .env_remove("LIVEOPS_DATA_DIR")
        .env_remove("LIVEOPS_DATABASE_URL")
        .current_dir(dir.path())
        .output()
        .expect("run liveops")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The exit code and the JSON answer of a diff.
fn answer(old: &str, new: &str, flags: &[&str]) -> (Option<i32>, Value) {
    let mut all = vec!["--format", "json"];
    all.extend(flags);
    let out = api_diff(old, new, &all);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("json output ({e}): {}", stderr(&out)));
    (out.status.code(), json)
}

/// Each change as `LEVEL id METHOD path`.
fn found(json: &Value) -> Vec<String> {
    json["changes"]
        .as_array()
        .expect("a list of changes")
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c["level"].as_str().unwrap_or("?"),
                c["id"].as_str().unwrap_or("?"),
                c["method"].as_str().unwrap_or("?"),
                c["path"].as_str().unwrap_or("?"),
            )
        })
        .collect()
}

/// Checks that `new` against `old` finds exactly `expected`, and exits 1
/// exactly when one of them breaks.
fn check(what: &str, old: &str, new: &str, expected: &[&str]) {
    let (code, json) = answer(old, new, &[]);
    assert_eq!(found(&json), expected, "{what}");
    let breaking = expected.iter().filter(|e| e.starts_with("ERR ")).count();
    assert_eq!(json["breaking"], breaking, "{what}");
    assert_eq!(code, Some(if breaking > 0 { 1 } else { 0 }), "{what}");
}

#[test]
fn each_kind_of_change_in_a_3_0_yaml_spec_gets_its_check_and_level() {
    let base = petstore_yaml();
    check(
        "a path removed",
        &base,
        &[HEAD, PETS, PET, COMPONENTS].concat(),
        &["ERR api-path-removed-without-deprecation GET /store/inventory"],
    );
    check(
        "a parameter made required",
        &base,
        &edit(&base, "required: false", "required: true"),
        &["ERR request-parameter-became-required GET /pets"],
    );
    check(
        "a required response property removed",
        &base,
        &edit(
            &base,
            "            id: {type: integer, format: int64}\n",
            "",
        ),
        &[
            "ERR response-required-property-removed GET /pets",
            "ERR response-required-property-removed POST /pets",
            "ERR response-required-property-removed GET /pets/{petId}",
        ],
    );
    check(
        "an enum value removed from a parameter",
        &base,
        &edit(
            &base,
            "enum: [available, pending, sold]",
            "enum: [available, pending]",
        ),
        &["ERR request-parameter-enum-value-removed GET /pets"],
    );
    check(
        "an enum value removed from a response property",
        &base,
        &edit(&base, "                - sold\n", ""),
        &[
            "INFO response-property-enum-value-removed GET /pets",
            "INFO response-property-enum-value-removed POST /pets",
            "INFO response-property-enum-value-removed GET /pets/{petId}",
        ],
    );
    check(
        "an enum value added to a response property",
        &base,
        &edit(
            &base,
            "                - sold\n",
            "                - sold\n                - lost\n",
        ),
        &[
            "WARN response-property-enum-value-added GET /pets",
            "WARN response-property-enum-value-added POST /pets",
            "WARN response-property-enum-value-added GET /pets/{petId}",
        ],
    );
    check(
        "a new required request property",
        &base,
        &edit(
            &base,
            "      required: [name]\n      properties:\n",
            "      required: [name, age]\n      properties:\n        age: {type: integer}\n",
        ),
        &[
            "ERR new-required-request-property POST /pets",
            "INFO response-required-property-added GET /pets",
            "INFO response-required-property-added POST /pets",
            "INFO response-required-property-added GET /pets/{petId}",
        ],
    );
    check(
        "a request property made required",
        &base,
        &edit(&base, "required: [name]", "required: [name, tag]"),
        &[
            "ERR request-property-became-required POST /pets",
            "INFO response-property-became-required GET /pets",
            "INFO response-property-became-required POST /pets",
            "INFO response-property-became-required GET /pets/{petId}",
        ],
    );
    check(
        "an endpoint's API key swapped for OAuth",
        &base,
        &edit(
            &base,
            "      operationId: inventory\n",
            "      operationId: inventory\n      security:\n        - oauth: [read]\n",
        ),
        &[
            "ERR api-security-removed GET /store/inventory",
            "INFO api-security-added GET /store/inventory",
        ],
    );
    check(
        "an optional parameter and an endpoint added, a path parameter renamed",
        &base,
        &[
            HEAD,
            &edit(
                PETS,
                "      parameters:\n",
                "      parameters:\n        - {name: sort, in: query, schema: {type: string}}\n",
            ),
            &edit(PET, "{petId}", "{id}"),
            "    delete:\n      responses:\n        '204': {description: Deleted}\n",
            STORE,
            &edit(COMPONENTS, "name: petId", "name: id"),
        ]
        .concat(),
        &[
            "INFO new-optional-request-parameter GET /pets",
            "INFO endpoint-added DELETE /pets/{id}",
        ],
    );
}

#[test]
fn each_kind_of_change_in_a_3_1_json_spec_gets_its_check_and_level() {
    let base = PETSTORE_JSON;
    check(
        "type: [string, \"null\"] makes a response property nullable",
        base,
        &edit(
            base,
            r#""tag": {"type": "string"}"#,
            r#""tag": {"type": ["string", "null"]}"#,
        ),
        &["ERR response-property-became-nullable GET /pets/{petId}"],
    );
    check(
        "a response property's type changed",
        base,
        &edit(
            base,
            r#""id": {"type": "integer"}"#,
            r#""id": {"type": "string"}"#,
        ),
        &["ERR response-property-type-changed GET /pets/{petId}"],
    );
    check(
        "a const changed",
        base,
        &edit(base, r#"{"const": "pet"}"#, r#"{"const": "animal"}"#),
        &[
            "WARN response-property-enum-value-added GET /pets/{petId}",
            "INFO response-property-enum-value-removed GET /pets/{petId}",
        ],
    );
    check(
        "a nullable oneOf lost its null",
        base,
        &edit(
            base,
            r##"{"oneOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]}"##,
            r##"{"$ref": "#/components/schemas/Owner"}"##,
        ),
        &["INFO response-property-became-not-nullable GET /pets/{petId}"],
    );
    check(
        "a required response property made optional; webhooks are not read",
        base,
        &edit(
            base,
            r#""required": ["id", "name"]"#,
            r#""required": ["id"]"#,
        )
        .replace(r#""webhooks": {"#, r#""webhooks": {"other": {}, "#),
        &["ERR response-property-became-optional GET /pets/{petId}"],
    );
}

/// Moving a spec from 3.0 to 3.1 changes how nullability is written, not
/// the API.
#[test]
fn the_same_api_in_3_0_yaml_and_3_1_json_has_no_changes() {
    let v30 = "\
openapi: 3.0.3
paths:
  /pets/{petId}:
    get:
      parameters:
        - {name: petId, in: path, required: true, schema: {type: integer}}
      responses:
        200:
          description: The pet
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: {type: integer}
                  name: {type: string}
                  tag: {type: string, nullable: true}
                  kind: {type: string, enum: [pet]}
                  owner:
                    nullable: true
                    allOf:
                      - $ref: '#/components/schemas/Owner'
components:
  schemas:
    Owner: {type: object, properties: {name: {type: string}}}
";
    let v31 = edit(
        &edit(
            PETSTORE_JSON,
            r#""tag": {"type": "string"}"#,
            r#""tag": {"type": ["string", "null"]}"#,
        ),
        r#""kind": {"const": "pet"}"#,
        r#""kind": {"type": "string", "enum": ["pet"]}"#,
    );
    let out = api_diff(v30, &v31, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(stderr(&out), "no changes\n");
}

#[test]
fn the_table_lists_breaking_changes_first_with_a_summary() {
    let base = petstore_yaml();
    let new = edit(
        &edit(&base, "required: false", "required: true"),
        "      parameters:\n        - name: limit",
        "      parameters:\n        - {name: sort, in: query, schema: {type: string}}\n        - name: limit",
    );
    let new = edit(&new, STORE, "");
    let out = api_diff(&base, &new, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("ERR   request-parameter-became-required     GET /pets  "),
        "{table}"
    );
    assert!(
        lines[0].ends_with("the query parameter `limit` became required"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("ERR   api-path-removed-without-deprecation  GET /store/inventory  "),
        "{table}"
    );
    assert!(
        lines[2].starts_with("INFO  new-optional-request-parameter        GET /pets  "),
        "{table}"
    );
    assert_eq!(
        stderr(&out),
        "3 changes: 2 breaking, 0 possibly breaking, 1 not breaking\n"
    );
}

#[test]
fn fail_on_warn_also_fails_on_possibly_breaking_changes() {
    let base = petstore_yaml();
    let new = edit(
        &base,
        "        - name: limit\n          in: query\n          required: false\n          schema:\n            type: integer\n            format: int32\n",
        "",
    );
    let (code, json) = answer(&base, &new, &[]);
    assert_eq!(found(&json), ["WARN request-parameter-removed GET /pets"]);
    assert_eq!(code, Some(0), "a warning alone passes by default");
    assert_eq!(json["warnings"], 1);
    let (code, _) = answer(&base, &new, &["--fail-on", "warn"]);
    assert_eq!(code, Some(1));
}

#[test]
fn a_breaking_change_needs_a_major_version() {
    let base = petstore_yaml();
    let new = [HEAD, PETS, PET, COMPONENTS].concat();
    let versions = |old: &str, new_v: &str| {
        answer(&base, &new, &["--old-version", old, "--new-version", new_v])
    };
    let (code, json) = versions("1.2.0", "1.3.0");
    assert_eq!(code, Some(1));
    let problem = &json["version_problem"];
    assert_eq!(problem["id"], "api-major-version-not-bumped");
    assert_eq!(problem["needed"], "2.0.0");
    assert_eq!(
        problem["text"],
        "1 breaking change needs 2.0.0 or later after 1.2.0, not 1.3.0"
    );
    let out = api_diff(
        &base,
        &new,
        &["--old-version", "1.2.0", "--new-version", "1.3.0"],
    );
    assert!(
        stderr(&out).contains("version problem (api-major-version-not-bumped)"),
        "{}",
        stderr(&out)
    );
    let (_, json) = versions("1.2.0", "v2.0.0");
    assert_eq!(json["version_problem"], Value::Null);
    // Before 1.0.0 a minor bump may break.
    let (_, json) = versions("0.4.1", "0.5.0");
    assert_eq!(json["version_problem"], Value::Null);
    // Without breaking changes any bump is fine, and so is the same version.
    let (code, json) = answer(
        &base,
        &base,
        &["--old-version", "1.2.0", "--new-version", "1.2.0"],
    );
    assert_eq!((code, &json["version_problem"]), (Some(0), &Value::Null));
    // A version that is not one is bad input.
    let out = api_diff(
        &base,
        &new,
        &["--old-version", "1.2", "--new-version", "2.0.0"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`1.2` is not a semantic version"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn unreadable_specs_exit_2_saying_why() {
    let base = petstore_yaml();
    let cases = [
        (
            "malformed YAML",
            edit(
                &base,
                "    get:\n      operationId: showPet",
                "   get:\n      operationId: showPet",
            ),
            "new.yaml is not a usable OpenAPI spec: not valid YAML: ",
        ),
        (
            "malformed JSON",
            PETSTORE_JSON[..200].to_owned(),
            "new.json is not a usable OpenAPI spec: not valid JSON: EOF while parsing",
        ),
        (
            "an unknown $ref",
            edit(
                &base,
                "              $ref: '#/components/schemas/NewPet'",
                "              $ref: '#/components/schemas/NewPets'",
            ),
            "unknown $ref `#/components/schemas/NewPets` used at paths./pets.post.requestBody.content.application/json.schema",
        ),
        (
            "an external $ref",
            edit(
                &base,
                "$ref: '#/components/parameters/PetId'",
                "$ref: 'parameters.yaml#/PetId'",
            ),
            "external $ref `parameters.yaml#/PetId`",
        ),
        (
            "Swagger 2.0",
            "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n".to_owned(),
            "this is a Swagger 2.0 document; only OpenAPI 3.0 and 3.1 are supported",
        ),
        (
            "a newer OpenAPI",
            edit(&base, "openapi: 3.0.3", "openapi: 4.0.0"),
            "OpenAPI version `4.0.0` is not supported",
        ),
        (
            "not an OpenAPI document",
            "name: my-service\nreplicas: 3\n".to_owned(),
            "not an OpenAPI document: it has no `openapi` field",
        ),
    ];
    for (what, new, message) in cases {
        let out = api_diff(&base, &new, &[]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{what}: {err}");
        assert!(err.contains(message), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}");
    }
    let out = Command::new(BIN)
        .args([
            "docs",
            "api-diff",
            "/nonexistent/old.yaml",
            "/nonexistent/new.yaml",
        ])
        .output()
        .expect("run liveops");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read /nonexistent/old.yaml"),
        "{}",
        stderr(&out)
    );
}
