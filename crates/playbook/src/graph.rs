//! The step dependency graph: cycles, topological order, levels, ancestors
//! and longest paths.
//!
//! Nodes are step indexes in file order. Edges point from a step to the steps
//! it `needs`. Ties are always broken by file order, so the order and the
//! groups are stable across runs and easy to compare with the file.

use std::collections::{BTreeSet, HashSet};

/// A dependency graph over steps `0..len`.
#[derive(Debug, Clone)]
pub struct Graph {
    /// `needs[i]` lists the steps that step `i` depends on.
    needs: Vec<Vec<usize>>,
}

impl Graph {
    pub fn new(needs: Vec<Vec<usize>>) -> Graph {
        Graph { needs }
    }

    pub fn len(&self) -> usize {
        self.needs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.needs.is_empty()
    }

    /// Finds one cycle, returned as the steps along it with the first step
    /// repeated at the end (`a -> b -> a`), or `None` when the graph is acyclic.
    pub fn find_cycle(&self) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnStack,
            Done,
        }
        let mut marks = vec![Mark::New; self.len()];

        // Iterative depth-first search, so a long chain cannot overflow the stack.
        for root in 0..self.len() {
            if marks[root] != Mark::New {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            marks[root] = Mark::OnStack;
            while let Some(&mut (node, ref mut next)) = stack.last_mut() {
                if let Some(&dependency) = self.needs[node].get(*next) {
                    *next += 1;
                    match marks[dependency] {
                        Mark::New => {
                            marks[dependency] = Mark::OnStack;
                            stack.push((dependency, 0));
                        }
                        Mark::OnStack => {
                            let start = stack
                                .iter()
                                .position(|(n, _)| *n == dependency)
                                .unwrap_or(0);
                            let mut cycle: Vec<usize> =
                                stack[start..].iter().map(|(n, _)| *n).collect();
                            cycle.push(dependency);
                            return Some(cycle);
                        }
                        Mark::Done => {}
                    }
                } else {
                    marks[node] = Mark::Done;
                    stack.pop();
                }
            }
        }
        None
    }

    /// Steps in an order where every step comes after the steps it needs,
    /// preferring file order. Steps on a cycle are left out.
    pub fn topological_order(&self) -> Vec<usize> {
        let mut remaining: Vec<usize> = self.needs.iter().map(|needs| needs.len()).collect();
        let mut dependents = vec![Vec::new(); self.len()];
        for (node, needs) in self.needs.iter().enumerate() {
            for &dependency in needs {
                dependents[dependency].push(node);
            }
        }
        let mut ready: BTreeSet<usize> = (0..self.len()).filter(|&n| remaining[n] == 0).collect();
        let mut order = Vec::with_capacity(self.len());
        while let Some(node) = ready.pop_first() {
            order.push(node);
            for &dependent in &dependents[node] {
                remaining[dependent] -= 1;
                if remaining[dependent] == 0 {
                    ready.insert(dependent);
                }
            }
        }
        order
    }

    /// Level of each step: 0 without needs, else one more than its deepest
    /// dependency. Steps of one level can run in parallel. Assumes no cycle.
    pub fn levels(&self) -> Vec<usize> {
        let mut levels = vec![0; self.len()];
        for node in self.topological_order() {
            levels[node] = self.needs[node]
                .iter()
                .map(|&d| levels[d] + 1)
                .max()
                .unwrap_or(0);
        }
        levels
    }

    /// Collects every step that `node` depends on, directly or transitively.
    pub fn ancestors(&self, node: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = self.needs[node].clone();
        while let Some(next) = stack.pop() {
            if seen.insert(next) {
                stack.extend(self.needs[next].iter().copied());
            }
        }
        seen
    }

    /// Finds the chain with the maximum total weight among the `included` steps,
    /// from its first step to its last, with the total. Excluded steps
    /// neither count nor connect chains. Assumes no cycle.
    pub fn longest_path(
        &self,
        weight: impl Fn(usize) -> u128,
        included: impl Fn(usize) -> bool,
    ) -> (Vec<usize>, u128) {
        let mut best: Vec<Option<(u128, Option<usize>)>> = vec![None; self.len()];
        for node in self.topological_order() {
            if !included(node) {
                continue;
            }
            let predecessor = self.needs[node]
                .iter()
                .filter_map(|&d| best[d].map(|(total, _)| (total, d)))
                .max_by_key(|&(total, d)| (total, std::cmp::Reverse(d)));
            let total = predecessor.map(|(t, _)| t).unwrap_or(0) + weight(node);
            best[node] = Some((total, predecessor.map(|(_, d)| d)));
        }
        let Some((mut node, total)) = best
            .iter()
            .enumerate()
            .filter_map(|(n, b)| b.map(|(t, _)| (n, t)))
            .max_by_key(|&(n, t)| (t, std::cmp::Reverse(n)))
        else {
            return (Vec::new(), 0);
        };
        let mut path = vec![node];
        while let Some((_, Some(previous))) = best[node] {
            path.push(previous);
            node = previous;
        }
        path.reverse();
        (path, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cycle_with_its_path() {
        // 0 <- 1 <- 2 <- 1 (1 and 2 need each other)
        let graph = Graph::new(vec![vec![], vec![0, 2], vec![1]]);
        assert_eq!(graph.find_cycle(), Some(vec![1, 2, 1]));
    }

    #[test]
    fn self_dependency_is_a_cycle() {
        let graph = Graph::new(vec![vec![0]]);
        assert_eq!(graph.find_cycle(), Some(vec![0, 0]));
    }

    #[test]
    fn acyclic_graph_orders_and_levels() {
        // diamond: 0 -> {1, 2} -> 3, plus an independent 4
        let graph = Graph::new(vec![vec![], vec![0], vec![0], vec![1, 2], vec![]]);
        assert_eq!(graph.find_cycle(), None);
        assert_eq!(graph.topological_order(), vec![0, 1, 2, 3, 4]);
        assert_eq!(graph.levels(), vec![0, 1, 1, 2, 0]);
        assert_eq!(graph.ancestors(3), HashSet::from([0, 1, 2]));
    }

    #[test]
    fn longest_path_follows_the_heaviest_chain() {
        let graph = Graph::new(vec![vec![], vec![0], vec![0], vec![1, 2]]);
        let weights = [10, 5, 20, 1];
        let (path, total) = graph.longest_path(|n| weights[n], |_| true);
        assert_eq!(path, vec![0, 2, 3]);
        assert_eq!(total, 31);
        let (path, total) = graph.longest_path(|n| weights[n], |n| n != 2);
        assert_eq!(path, vec![0, 1, 3]);
        assert_eq!(total, 16);
    }
}
