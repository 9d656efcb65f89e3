import ArgumentParser
import Foundation
import Practise

/// How the analysis spends its iterations over the candidates.
enum AnalysisScheduleKind: String, CaseIterable, ExpressibleByArgument {
    /// Every candidate trained `--analysis-iterations` (the method as published).
    case full
    /// Successive halving (``SuccessiveHalving``): changes the algorithm, so never the default.
    case halving
}

/// `--analysis-schedule` and the halving parameters, shared by `analyze`, `compress` and `demo`.
struct AnalysisScheduleOptions: ParsableArguments {
    @Option(help: "full: every candidate trained --analysis-iterations (default). halving: successive halving, an early-stopped analysis that changes the method — all candidates trained briefly, then only those that can still enter the selection, to the full iterations (README, \"Early-stopped analysis\").")
    var analysisSchedule: AnalysisScheduleKind = .full

    @Option(parsing: .unconditional, help: "With halving: budgets grow by this factor from rung to rung and about 1/factor of the candidates go on, \(SuccessiveHalving.factorRange.lowerBound) to \(SuccessiveHalving.factorRange.upperBound) (default \(SuccessiveHalving.defaultFactor)).")
    var halvingFactor: Int?

    @Option(parsing: .unconditional, help: "With halving: rungs before the full iterations, \(SuccessiveHalving.roundsRange.lowerBound) to \(SuccessiveHalving.roundsRange.upperBound) (default \(SuccessiveHalving.defaultRounds)); the first trains --analysis-iterations / factor^rounds.")
    var halvingRounds: Int?

    @Option(parsing: .unconditional, help: "With halving: candidates kept at every rung beyond those the selection needs, 0 to \(SuccessiveHalving.marginRange.upperBound) (default \(SuccessiveHalving.defaultMargin)).")
    var halvingMargin: Int?

    /// The halving options given, by name.
    var givenHalvingOptions: [String] {
        [("--halving-factor", halvingFactor), ("--halving-rounds", halvingRounds), ("--halving-margin", halvingMargin)].compactMap { $0.1 == nil ? nil : $0.0 }
    }

    func validate() throws {
        if analysisSchedule == .full, let first = givenHalvingOptions.first {
            throw ValidationError("\(first) needs --analysis-schedule halving (the full analysis trains every candidate --analysis-iterations)")
        }
        try Check.range("--halving-factor", halvingFactor, SuccessiveHalving.factorRange)
        try Check.range("--halving-rounds", halvingRounds, SuccessiveHalving.roundsRange)
        try Check.range("--halving-margin", halvingMargin, SuccessiveHalving.marginRange)
    }

    /// The schedule serving `selection` over `iterations` analysis iterations; nil for the full
    /// analysis. Throws, naming the options, when the first rung would train no iteration.
    func halving(iterations: Int, selection: DropRule) throws -> SuccessiveHalving? {
        guard analysisSchedule == .halving else { return nil }
        let h = SuccessiveHalving(factor: halvingFactor ?? SuccessiveHalving.defaultFactor, rounds: halvingRounds ?? SuccessiveHalving.defaultRounds,
                                  margin: halvingMargin ?? SuccessiveHalving.defaultMargin, selection: selection)
        if let problem = h.problem(iterations: iterations) { throw ValidationError(problem) }
        return h
    }

    /// Refuses halving together with `option`, which runs no single-process analysis: `why`.
    func refuseHalving(with option: String, given: Bool, because why: String) throws {
        guard given && analysisSchedule == .halving else { return }
        throw ValidationError("--analysis-schedule halving and \(option) exclude each other: \(why)")
    }

    /// The options as `compress` arguments (for `demo`, which runs `compress`).
    var arguments: [String] {
        guard analysisSchedule == .halving else { return [] }
        return ["--analysis-schedule", "halving"]
            + (halvingFactor.map { ["--halving-factor", String($0)] } ?? [])
            + (halvingRounds.map { ["--halving-rounds", String($0)] } ?? [])
            + (halvingMargin.map { ["--halving-margin", String($0)] } ?? [])
    }
}

/// A rung's decision as a line for stderr.
func rungNote(_ rung: HalvingRung, iterations: Int) -> String {
    let stopped = rung.eliminated
    return "analysis: halving at iteration \(rung.iterations)/\(iterations): \(rung.kept.count) of \(rung.recoverabilities.count) candidates go on"
        + (stopped.isEmpty ? "" : "; eliminated \(stopped.joined(separator: ", "))")
}
