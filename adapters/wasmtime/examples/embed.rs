//! Embedding pycomponent in a Rust program: a host module, Python calling
//! it, values both ways, and an exception as a value.
//!
//! Run: `cargo run -p pycomponent --example embed` (after `cargo xtask component`);
//! the expected output is in `embed.expected`.

use pycomponent::{HostModules, Runtime, Value};

fn main() -> Result<(), pycomponent::Error> {
    let runtime = Runtime::new("target/component/pycomponent.wasm".as_ref())?;
    let host = HostModules::new().function("greeting", "for_user", |args, _| match args {
        [Value::Str(name)] => Ok(Value::from(format!("hello, {name}"))),
        _ => Err("for_user(name) takes one str".into()),
    });
    let mut py = runtime.instantiate(host)?;
    py.exec(
        "import greeting, statistics\ndef report(xs): return greeting.for_user('ada'), statistics.mean(xs)",
    )?
    .result
    .expect("defines report");
    let reply = py.call("report", &[Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(6)])], &[])?;
    println!("{}", reply.result.expect("report runs"));
    let error = py.eval("int('x')")?.result.unwrap_err();
    println!("{}: {}", error.type_name, error.message);
    Ok(())
}
