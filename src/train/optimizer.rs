//! AdamW with its state in the open, so a checkpoint can save it and a resumed run continue
//! bit for bit. The update is candle-nn's `AdamW`, operation for operation (a run trained before
//! this type existed reproduces exactly); only the moments and the step count are reachable.

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};

use crate::error::{Error, Result};

/// AdamW hyper-parameters (candle-nn's defaults for the betas and epsilon).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWParams {
    /// Learning rate.
    pub lr: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the second moment's square root.
    pub eps: f64,
}

impl AdamWParams {
    /// `lr` and `weight_decay` with betas 0.9 / 0.999 and epsilon 1e-8.
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        AdamWParams { lr, weight_decay, beta1: 0.9, beta2: 0.999, eps: 1e-8 }
    }
}

/// One trained variable with its moments.
struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// AdamW over named variables.
pub struct AdamW {
    slots: Vec<Slot>,
    step: usize,
    params: AdamWParams,
}

impl AdamW {
    /// Zero moments for every variable of `vars` (name, variable).
    pub fn new(vars: Vec<(String, Var)>, params: AdamWParams) -> Result<Self> {
        let slots = vars
            .into_iter()
            .map(|(name, var)| {
                let zeros = var.as_tensor().zeros_like()?;
                Ok(Slot { name, m: zeros.clone(), v: zeros, var })
            })
            .collect::<Result<_>>()?;
        Ok(AdamW { slots, step: 0, params })
    }

    /// Back-propagates `loss` and updates every variable that has a gradient.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&[grads])
    }

    /// Updates every variable with the sum of its gradients in `parts` (the gradients of a loss
    /// computed in parts, e.g. a batch's halves on two threads), summed in order.
    pub fn step(&mut self, parts: &[GradStore]) -> Result<()> {
        self.step += 1;
        let AdamWParams { lr, weight_decay, beta1, beta2, eps } = self.params;
        let scale_m = 1f64 / (1f64 - beta1.powi(self.step as i32));
        let scale_v = 1f64 / (1f64 - beta2.powi(self.step as i32));
        for slot in &mut self.slots {
            let mut grads = parts.iter().filter_map(|p| p.get(&slot.var));
            let Some(first) = grads.next() else { continue };
            let sum;
            let g = match grads.next() {
                None => first,
                Some(second) => {
                    sum = grads.try_fold((first + second)?, |acc, g| acc + g)?;
                    &sum
                }
            };
            let next_m = ((&slot.m * beta1)? + (g * (1.0 - beta1))?)?;
            let next_v = ((&slot.v * beta2)? + (g.sqr()? * (1.0 - beta2))?)?;
            let m_hat = (&next_m * scale_m)?;
            let v_hat = (&next_v * scale_v)?;
            let decayed = (slot.var.as_tensor() * (1f64 - lr * weight_decay))?;
            let adjusted = (m_hat / (v_hat.sqrt()? + eps)?)?;
            slot.var.set(&(decayed - (adjusted * lr)?)?)?;
            slot.m = next_m;
            slot.v = next_v;
        }
        Ok(())
    }

    /// Optimizer steps taken.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// The moments by variable name: `(name, first, second)`.
    pub fn moments(&self) -> impl Iterator<Item = (&str, &Tensor, &Tensor)> {
        self.slots.iter().map(|s| (s.name.as_str(), &s.m, &s.v))
    }

    /// Restores the step count and the moments (`moment(name, first)` gives a variable's first
    /// or second moment), as a checkpoint saved them.
    pub fn restore(&mut self, steps: usize, moment: impl Fn(&str, bool) -> Result<Tensor>) -> Result<()> {
        for slot in &mut self.slots {
            let (m, v) = (moment(&slot.name, true)?, moment(&slot.name, false)?);
            if m.shape() != slot.var.shape() || v.shape() != slot.var.shape() {
                return Err(Error::InvalidOptions(format!(
                    "checkpoint: the moments of {} have another shape",
                    slot.name
                )));
            }
            (slot.m, slot.v) = (m, v);
        }
        self.step = steps;
        Ok(())
    }
}
