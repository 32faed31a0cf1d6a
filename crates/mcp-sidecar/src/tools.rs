//! The host's tool list: parsed from `tool.list` once per change, then shared read-only.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rmcp::model::{JsonObject, Tool};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ToolListError {
    #[error("`tool.list` result has no `tools` array")]
    NotAList,
}

/// One immutable snapshot of the host's tools, in the host's order.
#[derive(Debug, Default)]
pub struct ToolSet {
    tools: Vec<Tool>,
    by_name: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HostTool {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<JsonObject>,
}

impl ToolSet {
    /// Parses `{tools:[{name, description, inputSchema}]}`; bad entries are skipped with a warning.
    pub fn from_host(result: &Value) -> Result<ToolSet, ToolListError> {
        let entries = result
            .get("tools")
            .and_then(Value::as_array)
            .ok_or(ToolListError::NotAList)?;
        let mut set = ToolSet::default();
        for entry in entries {
            let host_tool = match HostTool::deserialize(entry) {
                Ok(tool) if !tool.name.is_empty() => tool,
                Ok(_) => {
                    tracing::warn!("skipping a host tool with an empty name");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "skipping a malformed host tool");
                    continue;
                }
            };
            if set.by_name.contains_key(&host_tool.name) {
                tracing::warn!(name = %host_tool.name, "skipping a duplicate host tool");
                continue;
            }
            // MCP requires an object schema; a host that gives none accepts anything.
            let schema = host_tool.input_schema.unwrap_or_else(|| {
                let mut schema = JsonObject::new();
                schema.insert("type".into(), "object".into());
                schema
            });
            let mut tool = Tool::default();
            tool.name = host_tool.name.clone().into();
            tool.description = host_tool.description.map(Into::into);
            tool.input_schema = Arc::new(schema);
            set.by_name.insert(host_tool.name, set.tools.len());
            set.tools.push(tool);
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.by_name.get(name).map(|&index| &self.tools[index])
    }

    pub fn all(&self) -> &[Tool] {
        &self.tools
    }
}

/// The current snapshot, swapped whole when the host reports `tools.changed`.
#[derive(Debug, Default)]
pub struct ToolRegistry {
    current: RwLock<Arc<ToolSet>>,
}

impl ToolRegistry {
    pub fn new(set: ToolSet) -> Self {
        Self {
            current: RwLock::new(Arc::new(set)),
        }
    }

    pub fn snapshot(&self) -> Arc<ToolSet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn replace(&self, set: ToolSet) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_host_tools() {
        let set = ToolSet::from_host(&json!({"tools": [
            {"name": "add", "description": "Add two numbers",
             "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}}}},
            {"name": "ping"},
            {"name": "add", "description": "duplicate"},
            {"description": "no name"},
            {"name": ""},
        ]}))
        .unwrap();
        let names: Vec<&str> = set.all().iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(names, ["add", "ping"]);
        let add = set.get("add").unwrap();
        assert_eq!(add.description.as_deref(), Some("Add two numbers"));
        assert_eq!(add.input_schema["properties"]["a"]["type"], "number");
        assert_eq!(set.get("ping").unwrap().input_schema["type"], "object");
        assert!(set.get("nope").is_none());
    }

    #[test]
    fn serializes_as_mcp_tools() {
        let set = ToolSet::from_host(&json!({"tools": [{"name": "t", "description": "d",
            "inputSchema": {"type": "object"}}]}))
        .unwrap();
        assert_eq!(
            serde_json::to_value(set.all()).unwrap(),
            json!([{"name": "t", "description": "d", "inputSchema": {"type": "object"}}])
        );
    }

    #[test]
    fn refuses_a_result_without_tools() {
        assert!(ToolSet::from_host(&json!({"tool": []})).is_err());
        assert!(ToolSet::from_host(&json!([])).is_err());
    }

    #[test]
    fn registry_swaps_snapshots() {
        let registry = ToolRegistry::default();
        let before = registry.snapshot();
        registry.replace(ToolSet::from_host(&json!({"tools": [{"name": "x"}]})).unwrap());
        assert!(before.get("x").is_none());
        assert!(registry.snapshot().get("x").is_some());
    }
}
