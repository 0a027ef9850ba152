//! Python as a plugin language for a Rust program: the host passes an
//! object with methods (a document) into Python, the plugin registers a
//! callback, and the host calls that callback later, after the plugin's
//! code has returned.
//!
//! Run: `cargo run -p pycomponent --example plugin` (after `cargo xtask component`);
//! the expected output is in `plugin.expected`.

use std::sync::{Arc, Mutex};

use pycomponent::{Attribute, HostError, HostModules, HostObject, PyObject, Runtime, Value};

/// The host's document, which plugins read and edit through its methods.
#[derive(Default)]
struct Document {
    text: Mutex<String>,
}

impl HostObject for Document {
    fn get(&self, name: &str) -> Result<Attribute, HostError> {
        Ok(match name {
            "text" => Attribute::Value(Value::from(self.text.lock().unwrap().clone())),
            "append" => Attribute::Method,
            _ => Attribute::Missing,
        })
    }

    fn call_method(&self, name: &str, args: &[Value], _: &[(String, Value)]) -> Result<Value, HostError> {
        match (name, args) {
            ("append", [Value::Str(more)]) => {
                self.text.lock().unwrap().push_str(more);
                Ok(Value::None)
            }
            _ => Err(HostError::new("TypeError", "append(text) takes one str")),
        }
    }
}

const PLUGIN: &str = r#"
import editor

def word_count(doc):
    return len(doc.text.split())

def on_save(doc):
    doc.append(" -- checked")
    return f"saved {word_count(doc)} words"

editor.register("on_save", on_save)
"#;

fn main() -> Result<(), pycomponent::Error> {
    let runtime = Runtime::new("target/component/pycomponent.wasm".as_ref())?;
    // Callbacks the plugin registers, kept by the host for later.
    let hooks: Arc<Mutex<Vec<(String, PyObject)>>> = Arc::default();
    let registry = hooks.clone();
    let host = HostModules::new().function("editor", "register", move |args, _| match args {
        [Value::Str(event), Value::Object(callback)] if callback.is_callable() => {
            registry.lock().unwrap().push((event.clone(), callback.clone()));
            Ok(Value::None)
        }
        _ => Err("register(event, callback) takes a str and a function".into()),
    });
    let mut py = runtime.instantiate(host)?;
    py.exec(PLUGIN)?.result.expect("the plugin loads");

    let document = Arc::new(Document { text: Mutex::new("hello plugin world".into()) });
    for (event, callback) in hooks.lock().unwrap().iter() {
        let reply = callback.call(&mut py, &[Value::HostObject(document.clone())], &[])?;
        println!("{event}: {}", reply.result.expect("the hook runs"));
    }
    println!("document: {}", document.text.lock().unwrap());
    Ok(())
}
