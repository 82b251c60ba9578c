//! Lexer and recursive-descent parser for expressions.
//!
//! Precedence, lowest first: `||`, `&&`, `== !=`, `< <= > >=`, `+ -`, unary
//! `! -`. Names are dotted paths whose segments may contain `-` (step ids
//! such as `restore-primary`), so subtraction needs a space before the `-`
//! when its left operand is a name: `run.started_at - 5m`.

use super::ast::{BinaryOp, Expr, Literal, Span, UnaryOp};
use super::value::parse_duration;

/// A syntax error inside one expression, with the byte range it covers.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    pub message: String,
    pub span: Span,
}

/// Upper bound on nesting (parentheses and unary operators), so hostile input
/// cannot overflow the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Dot,
    Literal(Literal),
    Operator(&'static str),
    OpenParen,
    CloseParen,
}

/// Parses one expression; `source` is the text between `${{` and `}}`.
pub fn parse(source: &str) -> Result<Expr, SyntaxError> {
    let tokens = tokenize(source)?;
    if tokens.is_empty() {
        return Err(SyntaxError {
            message: "empty expression".to_string(),
            span: 0..source.len(),
        });
    }
    let mut parser = Parser {
        tokens,
        position: 0,
        depth: 0,
        end: source.len(),
    };
    let expr = parser.parse_or()?;
    if let Some((token, span)) = parser.tokens.get(parser.position) {
        return Err(SyntaxError {
            message: format!(
                "unexpected {} after the end of the expression",
                describe(token)
            ),
            span: span.clone(),
        });
    }
    Ok(expr)
}

fn describe(token: &Token) -> String {
    match token {
        Token::Name(name) => format!("name '{name}'"),
        Token::Dot => "'.'".to_string(),
        Token::Literal(_) => "literal".to_string(),
        Token::Operator(op) => format!("operator '{op}'"),
        Token::OpenParen => "'('".to_string(),
        Token::CloseParen => "')'".to_string(),
    }
}

fn tokenize(source: &str) -> Result<Vec<(Token, Span)>, SyntaxError> {
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }

        // Names: a letter or underscore, then letters, digits, '_' or '-'.
        // A trailing '-' is left for the operator.
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || (bytes[i] == b'-'
                        && i + 1 < bytes.len()
                        && (bytes[i + 1].is_ascii_alphanumeric() || bytes[i + 1] == b'_')))
            {
                i += 1;
            }
            let word = &source[start..i];
            let token = match word {
                "true" => Token::Literal(Literal::Bool(true)),
                "false" => Token::Literal(Literal::Bool(false)),
                _ => Token::Name(word.to_string()),
            };
            tokens.push((token, start..i));
            continue;
        }

        // Numbers, and durations when a unit letter follows the digits.
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            if i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let text = &source[start..i];
                let duration = parse_duration(text).map_err(|reason| SyntaxError {
                    message: format!("invalid duration literal '{text}': {reason}"),
                    span: start..i,
                })?;
                tokens.push((Token::Literal(Literal::Duration(duration)), start..i));
                continue;
            }
            let text = &source[start..i];
            let literal = if text.contains('.') {
                text.parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .map(Literal::Number)
            } else {
                text.parse::<i64>().ok().map(Literal::Int)
            };
            let literal = literal.ok_or_else(|| SyntaxError {
                message: format!("invalid number '{text}'"),
                span: start..i,
            })?;
            tokens.push((Token::Literal(literal), start..i));
            continue;
        }

        // Strings in single quotes; '' inside the quotes is one quote.
        if c == b'\'' {
            let mut text = String::new();
            i += 1;
            loop {
                let Some(offset) = source[i..].find('\'') else {
                    return Err(SyntaxError {
                        message: "unterminated string literal: add the closing '".to_string(),
                        span: start..source.len(),
                    });
                };
                text.push_str(&source[i..i + offset]);
                i += offset + 1;
                if bytes.get(i) == Some(&b'\'') {
                    text.push('\'');
                    i += 1;
                } else {
                    break;
                }
            }
            tokens.push((Token::Literal(Literal::String(text)), start..i));
            continue;
        }

        let two = source.get(i..i + 2).unwrap_or("");
        let (token, width) = match two {
            "==" => (Token::Operator("=="), 2),
            "!=" => (Token::Operator("!="), 2),
            "<=" => (Token::Operator("<="), 2),
            ">=" => (Token::Operator(">="), 2),
            "&&" => (Token::Operator("&&"), 2),
            "||" => (Token::Operator("||"), 2),
            _ => match c {
                b'<' => (Token::Operator("<"), 1),
                b'>' => (Token::Operator(">"), 1),
                b'!' => (Token::Operator("!"), 1),
                b'+' => (Token::Operator("+"), 1),
                b'-' => (Token::Operator("-"), 1),
                b'.' => (Token::Dot, 1),
                b'(' => (Token::OpenParen, 1),
                b')' => (Token::CloseParen, 1),
                _ => {
                    let ch = source[i..].chars().next().unwrap_or('?');
                    let hint = match ch {
                        '"' => ": strings use single quotes",
                        '=' => ": use '==' to compare",
                        '&' => ": use '&&'",
                        '|' => ": use '||'",
                        _ => "",
                    };
                    return Err(SyntaxError {
                        message: format!("unexpected character '{ch}'{hint}"),
                        span: i..i + ch.len_utf8(),
                    });
                }
            },
        };
        tokens.push((token, i..i + width));
        i += width;
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    position: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek_operator(&self) -> Option<&'static str> {
        match self.tokens.get(self.position) {
            Some((Token::Operator(op), _)) => Some(op),
            _ => None,
        }
    }

    fn binary_level(
        &mut self,
        operators: &[(&str, BinaryOp)],
        next: fn(&mut Self) -> Result<Expr, SyntaxError>,
    ) -> Result<Expr, SyntaxError> {
        let mut left = next(self)?;
        while let Some(symbol) = self.peek_operator() {
            let Some((_, op)) = operators.iter().find(|(s, _)| *s == symbol) else {
                break;
            };
            self.position += 1;
            let right = next(self)?;
            let span = left.span().start..right.span().end;
            left = Expr::Binary(*op, Box::new(left), Box::new(right), span);
        }
        Ok(left)
    }

    fn parse_or(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_level(&[("||", BinaryOp::Or)], Self::parse_and)
    }

    fn parse_and(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_level(&[("&&", BinaryOp::And)], Self::parse_equality)
    }

    fn parse_equality(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_level(
            &[("==", BinaryOp::Equal), ("!=", BinaryOp::NotEqual)],
            Self::parse_comparison,
        )
    }

    fn parse_comparison(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_level(
            &[
                ("<", BinaryOp::Less),
                ("<=", BinaryOp::LessEqual),
                (">", BinaryOp::Greater),
                (">=", BinaryOp::GreaterEqual),
            ],
            Self::parse_additive,
        )
    }

    fn parse_additive(&mut self) -> Result<Expr, SyntaxError> {
        self.binary_level(
            &[("+", BinaryOp::Add), ("-", BinaryOp::Subtract)],
            Self::parse_unary,
        )
    }

    fn parse_unary(&mut self) -> Result<Expr, SyntaxError> {
        let op = match self.peek_operator() {
            Some("!") => UnaryOp::Not,
            Some("-") => UnaryOp::Negate,
            _ => return self.parse_primary(),
        };
        let start = self.tokens[self.position].1.start;
        self.position += 1;
        self.enter(start)?;
        let operand = self.parse_unary()?;
        self.depth -= 1;
        let span = start..operand.span().end;
        Ok(Expr::Unary(op, Box::new(operand), span))
    }

    fn enter(&mut self, at: usize) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(SyntaxError {
                message: format!("expression nests deeper than {MAX_DEPTH} levels"),
                span: at..at + 1,
            });
        }
        Ok(())
    }

    fn parse_primary(&mut self) -> Result<Expr, SyntaxError> {
        let Some((token, span)) = self.tokens.get(self.position).cloned() else {
            return Err(SyntaxError {
                message: "expression ends where a value was expected".to_string(),
                span: self.end..self.end,
            });
        };
        self.position += 1;
        match token {
            Token::Literal(literal) => Ok(Expr::Literal(literal, span)),
            Token::OpenParen => {
                self.enter(span.start)?;
                let inner = self.parse_or()?;
                self.depth -= 1;
                match self.tokens.get(self.position) {
                    Some((Token::CloseParen, _)) => {
                        self.position += 1;
                        Ok(inner)
                    }
                    _ => Err(SyntaxError {
                        message: "missing ')' to close this '('".to_string(),
                        span,
                    }),
                }
            }
            Token::Name(first) => {
                let mut path = vec![first];
                let mut end = span.end;
                while let Some((Token::Dot, dot)) = self.tokens.get(self.position) {
                    let dot = dot.clone();
                    match self.tokens.get(self.position + 1) {
                        Some((Token::Name(segment), segment_span)) => {
                            path.push(segment.clone());
                            end = segment_span.end;
                            self.position += 2;
                        }
                        _ => {
                            return Err(SyntaxError {
                                message: "expected a name after '.'".to_string(),
                                span: dot,
                            });
                        }
                    }
                }
                Ok(Expr::Reference(path, span.start..end))
            }
            other => Err(SyntaxError {
                message: format!("unexpected {} where a value was expected", describe(&other)),
                span,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_binds_and_tighter_than_or() {
        let expr = parse("a || b && c").unwrap();
        let Expr::Binary(BinaryOp::Or, _, right, _) = expr else {
            panic!("expected || at the root, got {expr:?}");
        };
        assert!(matches!(*right, Expr::Binary(BinaryOp::And, ..)));
    }

    #[test]
    fn names_keep_hyphens_of_step_ids() {
        let expr = parse("steps.restore-primary.outputs.host").unwrap();
        assert_eq!(
            expr,
            Expr::Reference(
                vec![
                    "steps".into(),
                    "restore-primary".into(),
                    "outputs".into(),
                    "host".into()
                ],
                0..34
            )
        );
    }

    #[test]
    fn subtraction_with_spaces() {
        let expr = parse("run.started_at - 5m").unwrap();
        assert!(matches!(expr, Expr::Binary(BinaryOp::Subtract, ..)));
    }

    #[test]
    fn string_literal_with_escaped_quote() {
        let expr = parse("'it''s'").unwrap();
        assert_eq!(expr, Expr::Literal(Literal::String("it's".into()), 0..7));
    }

    #[test]
    fn syntax_errors_point_at_the_problem() {
        let cases = [
            ("run.mode = 'x'", "unexpected character '='", 9..10),
            ("(a", "missing ')'", 0..1),
            ("a b", "unexpected name 'b'", 2..3),
            ("'open", "unterminated string", 0..5),
            ("\"x\"", "single quotes", 0..1),
            ("a.", "expected a name after '.'", 1..2),
            ("", "empty expression", 0..0),
        ];
        for (source, message, span) in cases {
            let error = parse(source).unwrap_err();
            assert!(
                error.message.contains(message),
                "{source}: {}",
                error.message
            );
            assert_eq!(error.span, span, "{source}");
        }
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let source = format!("{}a{}", "(".repeat(200), ")".repeat(200));
        let error = parse(&source).unwrap_err();
        assert!(error.message.contains("nests deeper"));
    }
}
