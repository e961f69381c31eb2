import Engine
import Foundation
import Testing

/// Forward results against values computed by numpy/torch in float64
/// (scripts/fixtures/make_engine_golden.py).
@Suite struct GoldenTests {
    @Test(arguments: ["matmul_nt", "matmul_skinny"])
    func linearMatchesNumpy(name: String) throws {
        let g = Golden(name)
        let y = try Tape.inference.linear(Variable(g.tensor("a")), Variable(g.tensor("w")))
        // Float32 sums of 260 products: ~1e-5 relative error is rounding, not a bug.
        expectClose(y.value, g.tensor("out"), tolerance: 5e-5)
    }

    @Test func matmulNNAndTNMatchNumpy() throws {
        let nn = Golden("matmul_nn")
        let tn = Golden("matmul_tn")
        let a = try nn.tensor("a").reshaped([1, 25, 260])
        let b = try nn.tensor("b").reshaped([1, 260, 40])
        expectClose(try Tape.inference.matmul(Variable(a), Variable(b)).value.reshaped([25, 40]), nn.tensor("out"), tolerance: 5e-5)
        let at = try tn.tensor("a").reshaped([1, 260, 25])
        let bt = try tn.tensor("b").reshaped([1, 260, 40])
        expectClose(
            try Tape.inference.matmul(Variable(at), Variable(bt), transposeA: true).value.reshaped([25, 40]), tn.tensor("out"),
            tolerance: 5e-5)
    }

    @Test func normsActivationsAndSoftmax() throws {
        let tape = Tape.inference
        let r = Golden("rmsnorm")
        expectClose(
            try tape.rmsNorm(Variable(r.tensor("x")), weight: Variable(r.tensor("weight")), eps: Float(r.number("eps"))).value,
            r.tensor("out"))
        let s = Golden("softmax")
        let l = Golden("log_softmax")
        let m = Golden("silu_mul")
        expectClose(try tape.softmax(Variable(s.tensor("x"))).value, s.tensor("out"))
        expectClose(try tape.logSoftmax(Variable(l.tensor("x"))).value, l.tensor("out"))
        expectClose(try tape.siluMul(Variable(m.tensor("gate")), Variable(m.tensor("up"))).value, m.tensor("out"))
    }

    @Test func rotaryEmbeddingMatchesHuggingFaceConvention() throws {
        let g = Golden("rope")
        let x = g.tensor("x")
        let table = try RotaryTable(headDim: x.shape[3], maxPosition: 16, theta: g.number("theta"))
        expectClose(try Tape.inference.rope(Variable(x), positions: g.ints("positions"), table: table).value, g.tensor("out"))
    }

    @Test func attentionWithGroupedHeadsAndLeftPadding() throws {
        let g = Golden("attention")
        let valid = g.ints("valid").map { $0 != 0 }
        let out = try Tape.inference.attention(
            q: Variable(g.tensor("q")), k: Variable(g.tensor("k")), v: Variable(g.tensor("v")),
            keyValid: valid)
        expectClose(out.value, g.tensor("out"))
    }

    @Test func embeddingAndTokenLogProbs() throws {
        let e = Golden("embedding")
        expectClose(try Tape.inference.embedding(Variable(e.tensor("table")), ids: e.ints("ids")).value, e.tensor("out"))
        let t = Golden("token_logprobs")
        let r = try Tape.inference.tokenLogProbs(
            hidden: Variable(t.tensor("hidden")), weight: Variable(t.tensor("weight")),
            targets: t.ints("targets"))
        expectClose(r.logProbs.value, t.tensor("logprobs"))
        expectClose(r.entropy.value, t.tensor("entropy"))
    }
}

/// AdamW and gradient clipping against `torch.optim.AdamW` and
/// `clip_grad_norm_` on a quadratic whose gradient is computed by the tape.
@Suite struct OptimizerTests {
    struct Problem {
        let g = Golden("adamw")
        let p0: Variable, p1: Variable
        let optimizer: AdamW

        init() throws {
            p0 = Variable(g.tensor("p0"), requiresGrad: true, name: "p0")
            p1 = Variable(g.tensor("p1"), requiresGrad: true, name: "p1")
            optimizer = try AdamW(
                parameters: [p0, p1],
                .init(
                    learningRate: Float(g.number("lr")), beta1: Float(g.number("beta1")), beta2: Float(g.number("beta2")),
                    eps: Float(g.number("eps")), weightDecay: Float(g.number("weight_decay"))))
        }

        /// Accumulates the gradient of Σ c·(p − t)² into p0 and p1.
        func backward() throws {
            let tape = Tape()
            var total: Variable?
            for (p, suffix) in [(p0, "0"), (p1, "1")] {
                let diff = try tape.sub(p, Variable(g.tensor("t" + suffix)))
                let term = try tape.sum(tape.mul(tape.mul(diff, diff), Variable(g.tensor("c" + suffix))))
                total = try total.map { try tape.add($0, term) } ?? term
            }
            try tape.backward(total!)
        }

        var trajectory: [[String: Any]] { g.entries["trajectory"] as! [[String: Any]] }
    }

    @Test func matchesTorchTrajectory() throws {
        let problem = try Problem()
        for expected in problem.trajectory {
            try problem.backward()
            problem.optimizer.update()
            expectClose(problem.p0.value, Golden.tensor(expected["p0"]!), tolerance: 2e-6)
            expectClose(problem.p1.value, Golden.tensor(expected["p1"]!), tolerance: 2e-6)
        }
    }

    @Test func matchesTorchTrajectoryWithGradientClipping() throws {
        let problem = try Problem()
        let norms = (problem.g.entries["clip_norms"] as! [NSNumber]).map(\.floatValue)
        let maxNorm = Float(problem.g.number("max_norm"))
        for (expected, expectedNorm) in zip(problem.g.entries["trajectory_clipped"] as! [[String: Any]], norms) {
            try problem.backward()
            let norm = clipGradNorm([problem.p0, problem.p1], maxNorm: maxNorm)
            #expect(abs(norm - expectedNorm) <= 1e-4 * expectedNorm)
            problem.optimizer.update()
            expectClose(problem.p0.value, Golden.tensor(expected["p0"]!), tolerance: 2e-6)
            expectClose(problem.p1.value, Golden.tensor(expected["p1"]!), tolerance: 2e-6)
        }
    }

    /// Stopping after k steps, saving, loading into a fresh optimiser and
    /// continuing gives the same bits as never stopping.
    @Test func savedStateResumesExactly() throws {
        let straight = try Problem()
        let resumed = try Problem()
        for _ in 0..<12 {
            try straight.backward()
            straight.optimizer.update()
        }
        for _ in 0..<5 {
            try resumed.backward()
            resumed.optimizer.update()
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("adamw-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try resumed.optimizer.save(to: url)
        let fresh = try AdamW(parameters: [resumed.p0, resumed.p1])
        try fresh.load(from: url)
        #expect(fresh.step == 5 && fresh.hyperparameters == resumed.optimizer.hyperparameters)
        for _ in 5..<12 {
            try resumed.backward()
            fresh.update()
        }
        #expect(straight.p0.value.scalars == resumed.p0.value.scalars)
        #expect(straight.p1.value.scalars == resumed.p1.value.scalars)
    }

    @Test func frozenParametersGetNoGradientAndDoNotMove() throws {
        let problem = try Problem()
        problem.p1.requiresGrad = false
        let before = problem.p1.value.scalars
        try problem.backward()
        #expect(problem.p1.grad == nil)
        problem.optimizer.update()
        #expect(problem.p1.value.scalars == before)
        #expect(problem.p0.value.scalars != Golden("adamw").tensor("p0").scalars)
    }

    @Test func learningRateSchedulesMatchHuggingFaceFormulas() throws {
        let g = Golden("lr_schedule")
        let warmup = Int(g.number("warmup_steps"))
        let total = Int(g.number("total_steps"))
        let constant = (g.entries["constant_warmup"] as! [NSNumber]).map(\.floatValue)
        let cosine = (g.entries["cosine"] as! [NSNumber]).map(\.floatValue)
        let schedules: [(LearningRateSchedule, [Float])] = [
            (.constant(warmup: warmup), constant),
            (.cosine(warmup: warmup, total: total, minRatio: Float(g.number("min_lr_ratio"))), cosine),
        ]
        for (schedule, expected) in schedules {
            for (step, value) in expected.enumerated() {
                #expect(
                    abs(schedule.learningRate(base: Float(g.number("base_lr")), step: step) - value) <= 1e-6, "\(schedule) step \(step)")
            }
        }
    }
}
