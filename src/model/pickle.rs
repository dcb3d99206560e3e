//! A restricted reader for the pickle program inside PyTorch `.pt` files.
//!
//! A pickle is a small program; Python's unpickler imports and calls whatever it names. This
//! reader never executes anything: it interprets only the opcodes `torch.save` emits for state
//! dicts and accepts only a fixed list of globals (`collections.OrderedDict`, the tensor
//! rebuilders of `torch._utils`, the `torch.*Storage` types). Any other global — `os.system`,
//! `builtins.eval`, … — is an error naming it.
//!
//! Hostile structure is bounded: container nesting is capped, shared objects are reference
//! counted (a memo get or `DUP` is O(1), never a deep copy), and every value created, every
//! container slot copied when a shared container is modified, and every string byte is charged to
//! a [`Budget`] proportional to the program's length, so reading is linear in the input and
//! bounded in memory whatever the program does.

mod value;

use std::rc::Rc;

use super::budget::Budget;
use crate::error::Result;
pub use value::{Global, Node, StorageDtype, TensorRef, Value};
use value::{MAX_STORAGE_KEY, bad, check_depth};

/// Resolves a `module.name` global against the whitelist.
fn resolve_global(module: &str, name: &str) -> Result<Global> {
    match (module, name) {
        ("collections", "OrderedDict") => Ok(Global::OrderedDict),
        ("torch._utils", "_rebuild_tensor_v2") => Ok(Global::RebuildTensor),
        ("torch._utils", "_rebuild_parameter") => Ok(Global::RebuildParameter),
        ("torch", class) => StorageDtype::from_class(class)
            .map(Global::Storage)
            .ok_or_else(|| bad(format!("forbidden global `torch.{class}`"))),
        _ => Err(bad(format!(
            "forbidden global `{module}.{name}` (only tensors and dicts may be loaded; nothing was executed)"
        ))),
    }
}

/// Byte cursor over the pickle program.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| bad("truncated program".into()))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn le(&mut self, n: usize) -> Result<u64> {
        let b = self.take(n)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
    fn len(&mut self, n: usize) -> Result<usize> {
        usize::try_from(self.le(n)?).map_err(|_| bad("length too large".into()))
    }
    fn line(&mut self) -> Result<&'a str> {
        let rest = &self.data[self.pos..];
        let nl = rest.iter().position(|&b| b == b'\n');
        let nl = nl.ok_or_else(|| bad("unterminated GLOBAL name".into()))?;
        let s =
            std::str::from_utf8(&rest[..nl]).map_err(|_| bad("GLOBAL name not UTF-8".into()))?;
        self.pos += nl + 1;
        Ok(s)
    }
    fn text(&mut self, n: usize, budget: &mut Budget) -> Result<Value> {
        let b = self.take(n)?;
        budget.bytes(n)?;
        Ok(Value::Str(Rc::from(String::from_utf8_lossy(b).as_ref())))
    }
}

/// The unpickler's state.
struct Machine<'b> {
    stack: Vec<Value>,
    memo: std::collections::HashMap<u64, Value>,
    budget: &'b mut Budget,
}

impl Machine<'_> {
    /// Pushes a value, charging it to the budget.
    fn push(&mut self, v: Value) -> Result<()> {
        self.budget.values(1)?;
        self.stack.push(v);
        Ok(())
    }
    fn pop(&mut self) -> Result<Value> {
        self.stack
            .pop()
            .ok_or_else(|| bad("stack underflow".into()))
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>> {
        let at = self.stack.iter().rposition(|v| matches!(v, Value::Mark));
        let at = at.ok_or_else(|| bad("MARK not found".into()))?;
        let items = self.stack.split_off(at + 1);
        self.stack.pop();
        Ok(items)
    }
    fn top(&mut self) -> Result<&mut Value> {
        self.stack
            .last_mut()
            .ok_or_else(|| bad("stack underflow".into()))
    }
    fn memo_get(&self, key: u64) -> Result<Value> {
        self.memo
            .get(&key)
            .cloned()
            .ok_or_else(|| bad(format!("memo key {key} missing")))
    }
    fn memo_put(&mut self, key: u64) -> Result<()> {
        let v = self
            .stack
            .last()
            .cloned()
            .ok_or_else(|| bad("stack underflow".into()))?;
        self.budget.values(1)?;
        self.memo.insert(key, v);
        Ok(())
    }
    /// Charges the copy `Rc::make_mut` makes of a container that is also held elsewhere (the
    /// memo, a `DUP`), so re-memoising a growing list cannot make the reader quadratic.
    fn charge_copy(&mut self) -> Result<()> {
        let slots = match self.stack.last() {
            Some(Value::Seq(n)) if Rc::strong_count(n) > 1 => n.items.len(),
            Some(Value::Dict(n)) if Rc::strong_count(n) > 1 => 2 * n.items.len(),
            _ => 0,
        };
        self.budget.values(slots)
    }
    fn extend_seq(&mut self, items: Vec<Value>) -> Result<()> {
        self.charge_copy()?;
        match self.top()? {
            Value::Seq(node) => {
                let node = Rc::make_mut(node);
                let d = items.iter().map(Value::depth).max().unwrap_or(0) + 1;
                node.depth = node.depth.max(d);
                check_depth(node.depth)?;
                node.items.extend(items);
                Ok(())
            }
            _ => Err(bad("APPEND to a non-list".into())),
        }
    }
    fn extend_dict(&mut self, items: Vec<Value>) -> Result<()> {
        if !items.len().is_multiple_of(2) {
            return Err(bad("odd number of items in SETITEMS".into()));
        }
        self.charge_copy()?;
        match self.top()? {
            Value::Dict(node) => {
                let node = Rc::make_mut(node);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    node.depth = node.depth.max(1 + v.depth().max(k.depth()));
                    check_depth(node.depth)?;
                    node.items.push((k, v));
                }
                Ok(())
            }
            _ => Err(bad("SETITEM on a non-dict".into())),
        }
    }
}

fn empty_dict() -> Value {
    Value::Dict(Rc::new(Node {
        depth: 1,
        items: Vec::new(),
    }))
}

/// Calls a whitelisted global with its argument tuple.
fn reduce(callable: Value, args: Value) -> Result<Value> {
    let Value::Global(g) = callable else {
        return Err(bad(
            "REDUCE on something that is not an allowed callable".into()
        ));
    };
    let Value::Seq(args) = args else {
        return Err(bad("REDUCE arguments are not a tuple".into()));
    };
    let a = &args.items;
    match g {
        Global::OrderedDict => Ok(empty_dict()),
        Global::RebuildParameter => match a.first() {
            Some(t @ Value::Tensor(_)) => Ok(t.clone()),
            _ => Err(bad("_rebuild_parameter without a tensor".into())),
        },
        Global::RebuildTensor => {
            if a.len() < 4 {
                return Err(bad("_rebuild_tensor_v2 needs 4 arguments".into()));
            }
            let Value::Storage(s) = &a[0] else {
                return Err(bad("_rebuild_tensor_v2 without a storage".into()));
            };
            let shape = a[2].as_usizes("tensor size")?;
            let stride = a[3].as_usizes("tensor stride")?;
            if shape.len() != stride.len() {
                return Err(bad("tensor size and stride differ in rank".into()));
            }
            Ok(Value::Tensor(Rc::new(TensorRef {
                dtype: s.0,
                storage_key: s.1.clone(),
                storage_numel: s.2,
                offset: a[1].as_usize("storage offset")?,
                shape,
                stride,
            })))
        }
        Global::Storage(_) => Err(bad("storage types cannot be called".into())),
    }
}

/// Turns a persistent id tuple `('storage', type, key, location, numel)` into a storage value.
fn persistent(pid: Value) -> Result<Value> {
    let Value::Seq(t) = pid else {
        return Err(bad("persistent id is not a tuple".into()));
    };
    match t.items.as_slice() {
        [
            Value::Str(tag),
            Value::Global(Global::Storage(dtype)),
            Value::Str(key),
            _,
            numel,
        ] if &**tag == "storage" && key.len() <= MAX_STORAGE_KEY => Ok(Value::Storage(Rc::new((
            *dtype,
            key.to_string(),
            numel.as_usize("storage size")?,
        )))),
        _ => Err(bad("unsupported persistent id".into())),
    }
}

/// Runs a pickle program and returns the object it builds, within a [`Budget`] for its length.
pub fn parse(data: &[u8]) -> Result<Value> {
    parse_within(data, &mut Budget::for_input(data.len()))
}

/// Runs a pickle program, charging what it builds to `budget` (what is left may be spent on the
/// result, e.g. by [`super::pt::flatten`]).
pub fn parse_within(data: &[u8], budget: &mut Budget) -> Result<Value> {
    let mut c = Cursor { data, pos: 0 };
    let mut m = Machine {
        stack: Vec::new(),
        memo: Default::default(),
        budget,
    };
    loop {
        let op = c.u8()?;
        match op {
            0x80 => {
                c.u8()?;
            }
            0x95 => {
                c.le(8)?;
            }
            b'.' => return m.pop(),
            b'(' => m.push(Value::Mark)?,
            b'0' => {
                m.pop()?;
            }
            b'1' => {
                m.pop_mark()?;
            }
            b'2' => {
                let v = m.top()?.clone();
                m.push(v)?;
            }
            b')' => m.push(Value::seq(Vec::new())?)?,
            b't' | b'l' => {
                let items = m.pop_mark()?;
                m.push(Value::seq(items)?)?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                if m.stack.len() < n {
                    return Err(bad("stack underflow".into()));
                }
                let items = m.stack.split_off(m.stack.len() - n);
                m.push(Value::seq(items)?)?;
            }
            b']' => m.push(Value::seq(Vec::new())?)?,
            b'a' => {
                let v = m.pop()?;
                m.extend_seq(vec![v])?;
            }
            b'e' => {
                let items = m.pop_mark()?;
                m.extend_seq(items)?;
            }
            b'}' => m.push(empty_dict())?,
            b'd' => {
                let items = m.pop_mark()?;
                m.push(empty_dict())?;
                m.extend_dict(items)?;
            }
            b's' => {
                let v = m.pop()?;
                let k = m.pop()?;
                m.extend_dict(vec![k, v])?;
            }
            b'u' => {
                let items = m.pop_mark()?;
                m.extend_dict(items)?;
            }
            b'N' | 0x88 | 0x89 => m.push(Value::Scalar)?,
            b'J' => m.push(Value::Int(i64::from(c.le(4)? as u32 as i32)))?,
            b'K' => m.push(Value::Int(i64::from(c.u8()?)))?,
            b'M' => m.push(Value::Int(c.le(2)? as i64))?,
            0x8a => {
                let n = usize::from(c.u8()?);
                if n > 8 {
                    return Err(bad("integer wider than 64 bits".into()));
                }
                let raw = c.le(n)?;
                let shift = 64 - 8 * n as u32;
                let v = if n == 0 {
                    0
                } else {
                    ((raw << shift) as i64) >> shift
                };
                m.push(Value::Int(v))?;
            }
            b'G' => {
                c.take(8)?;
                m.push(Value::Scalar)?;
            }
            b'X' | b'T' | b'B' => {
                let n = c.len(4)?;
                let v = c.text(n, m.budget)?;
                m.push(v)?;
            }
            0x8c | b'U' | b'C' => {
                let n = usize::from(c.u8()?);
                let v = c.text(n, m.budget)?;
                m.push(v)?;
            }
            0x8d | 0x8e => {
                let n = c.len(8)?;
                let v = c.text(n, m.budget)?;
                m.push(v)?;
            }
            b'c' => {
                let module = c.line()?;
                let name = c.line()?;
                m.push(Value::Global(resolve_global(module, name)?))?;
            }
            0x93 => {
                let name = m.pop()?;
                let module = m.pop()?;
                let (Value::Str(module), Value::Str(name)) = (module, name) else {
                    return Err(bad("STACK_GLOBAL needs two strings".into()));
                };
                m.push(Value::Global(resolve_global(&module, &name)?))?;
            }
            b'q' => {
                let k = c.le(1)?;
                m.memo_put(k)?;
            }
            b'r' => {
                let k = c.le(4)?;
                m.memo_put(k)?;
            }
            0x94 => {
                let k = m.memo.len() as u64;
                m.memo_put(k)?;
            }
            b'h' => {
                let k = c.le(1)?;
                m.push(m.memo_get(k)?)?;
            }
            b'j' => {
                let k = c.le(4)?;
                m.push(m.memo_get(k)?)?;
            }
            b'Q' => {
                let pid = m.pop()?;
                m.push(persistent(pid)?)?;
            }
            b'R' => {
                let args = m.pop()?;
                let callable = m.pop()?;
                m.push(reduce(callable, args)?)?;
            }
            b'b' => {
                // BUILD: set the state of the object below. Dicts carry `_metadata` this way and
                // tensors their Python attributes; neither matters for the weights.
                m.pop()?;
                if !matches!(m.top()?, Value::Dict(_) | Value::Tensor(_)) {
                    return Err(bad("BUILD on an unsupported object".into()));
                }
            }
            other => {
                return Err(bad(format!(
                    "unsupported opcode 0x{other:02x} at byte {}",
                    c.pos - 1
                )));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_global_is_named() {
        let prog = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85R.";
        let err = parse(prog).unwrap_err().to_string();
        assert!(err.contains("os.system"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut prog = vec![0x80, 2];
        for _ in 0..100 {
            prog.extend_from_slice(b"(");
        }
        prog.push(b')');
        prog.extend(std::iter::repeat_n(0x85, 100));
        prog.push(b'.');
        assert!(parse(&prog).unwrap_err().to_string().contains("nested"));
    }

    #[test]
    fn small_dict_parses() {
        // {'a': 1, 'b': {'c': 2.5}}
        let prog = b"\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00b}(X\x01\x00\x00\x00cG@\x04\x00\x00\x00\x00\x00\x00uu.";
        let v = parse(prog).unwrap();
        let flat = crate::model::pt::flatten(&v, 10, &mut Budget::for_input(100)).unwrap();
        let names: Vec<_> = flat.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a", "b.c"]);
    }
}
