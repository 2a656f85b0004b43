// salabel doctor --apply LEFT --apply RIGHT: two hosts' copies of an apply file compared, since each
// end installs its half of every SA pair from its own copy (Specs/manager/doctor.md, check 10).

public import XfrmManager
import IPsecModel

/// Two apply files compared as the two ends of the same associations: an association one file has
/// and the other lacks, the same association (or SPI) with a different label, algorithm, key length,
/// SPI or keying, a host whose address differs. Key bytes are never read or compared.
public enum ApplyFileComparison {
    /// The findings, in file order (`apply-files`, each an error): two files that agree give none.
    public static func compare(_ left: ApplyFile, named leftName: String, _ right: ApplyFile, named rightName: String) -> [DoctorFinding] {
        var out: [DoctorFinding] = []
        func finding(_ subject: String, _ seen: String, _ meaning: String, _ fix: String) {
            out.append(DoctorFinding(check: .applyFiles, severity: .error, seen: seen, meaning: meaning, fix: fix, subject: subject))
        }
        for name in Set(left.hosts.keys).intersection(right.hosts.keys).sorted() {
            let l = left.hosts[name]!.address, r = right.hosts[name]!.address
            guard l != r else { continue }
            finding(
                "host \(name)", "host \(name) is \(l) in \(leftName) and \(r) in \(rightName)",
                "the two ends do not mirror: each installs SAs and SPD entries for a peer address the other does not have",
                "give host \(name) the same address in both files")
        }
        let rightByName = Dictionary(right.associations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let leftNames = Set(left.associations.map(\.name))
        for l in left.associations {
            guard let r = rightByName[l.name] else {
                let other = right.associations.first { spiSet($0).intersection(spiSet(l)).isEmpty == false }
                finding(
                    "association \(l.name)",
                    "association \(l.name) (\(l.between.0) ↔ \(l.between.1), SPIs \(hex(l.spis.0))/\(hex(l.spis.1))) is in \(leftName) only"
                        + (other.map { "; \(rightName)'s association \($0.name) uses the same SPI" } ?? ""),
                    "one end has SAs the other lacks: traffic on them is dropped at the other end (XfrmInNoStates) or never answered",
                    "add association \(l.name) to \(rightName) as \(leftName) has it, or remove it from \(leftName); then salabel apply on both hosts")
                continue
            }
            let differences = fields(l, r)
            guard !differences.isEmpty else { continue }
            finding(
                "association \(l.name)",
                "association \(l.name) differs: "
                    + differences.map { "\($0.field) \($0.left) in \(leftName), \($0.right) in \(rightName)" }.joined(separator: "; "),
                "the two ends install different SAs for the same association: packets fail the other end's transform (XfrmInStateProtoError), its SA lookup (XfrmInNoStates), or its label checks",
                "make association \(l.name) the same in both files (copy one file's entry to the other); then salabel apply on both hosts")
        }
        for r in right.associations where !leftNames.contains(r.name) {
            finding(
                "association \(r.name)",
                "association \(r.name) (\(r.between.0) ↔ \(r.between.1), SPIs \(hex(r.spis.0))/\(hex(r.spis.1))) is in \(rightName) only",
                "one end has SAs the other lacks: traffic on them is dropped at the other end (XfrmInNoStates) or never answered",
                "add association \(r.name) to \(leftName) as \(rightName) has it, or remove it from \(rightName); then salabel apply on both hosts")
        }
        return out
    }

    /// The fields of two entries of the same association that differ: (field, left value, right value).
    static func fields(_ l: ApplyFile.Association, _ r: ApplyFile.Association) -> [(field: String, left: String, right: String)] {
        func text<T>(_ v: T?) -> String { v.map { "\($0)" } ?? "none" }
        let pairs: [(String, String, String)] = [
            ("between", "\(l.between.0) ↔ \(l.between.1)", "\(r.between.0) ↔ \(r.between.1)"),
            ("SPIs", "\(hex(l.spis.0))/\(hex(l.spis.1))", "\(hex(r.spis.0))/\(hex(r.spis.1))"),
            ("context", l.context.description, r.context.description),
            ("reply_context", text(l.replyContext), text(r.replyContext)),
            ("policy_context", text(l.policyContext), text(r.policyContext)),
            ("proto", l.proto.description, r.proto.description),
            ("mode", l.mode.description, r.mode.description),
            ("aead", text(l.aead), text(r.aead)),
            ("encryption", text(l.encryption), text(r.encryption)),
            ("authentication", text(l.authentication), text(r.authentication)),
            ("icv_bits", "\(l.icvBits)", "\(r.icvBits)"),
            ("key_bits", text(l.keyBits), text(r.keyBits)),
            ("reqid", "\(l.reqid)", "\(r.reqid)"),
            ("protocol", "\(l.upperProtocol)", "\(r.upperProtocol)"),
            ("port", "\(l.port)", "\(r.port)"),
            ("keying", keying(l.keying), keying(r.keying)),
        ]
        if l.keying != r.keying, keying(l.keying) == keying(r.keying) {
            return pairs.filter { $0.1 != $0.2 }.map { (field: $0.0, left: $0.1, right: $0.2) } + [("IKE options", "one set", "another")]
        }
        return pairs.filter { $0.1 != $0.2 }.map { (field: $0.0, left: $0.1, right: $0.2) }
    }

    static func keying(_ k: ApplyFile.Keying) -> String {
        if case .ike = k { return "ike" }
        return "static"
    }

    static func spiSet(_ a: ApplyFile.Association) -> Set<UInt32> { [a.spis.0, a.spis.1] }
    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}
