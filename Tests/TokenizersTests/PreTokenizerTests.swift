@testable import Tokenizers
import Testing
